"""The records of `coldprof remote` (samples, tiers, functions, correlation) and their JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coldprof.results.serial import JSONObject, encode, fields_dict, optional_int

if TYPE_CHECKING:
    from coldprof.aws.report import InvokeReport

# The version of the remote result's JSON; `from_dict` reads every version up to it.
SCHEMA_VERSION = 1
# What the confirmation prompt assumes an invocation bills before anything is measured.
ASSUMED_COLD_BILLED_MS = 1_000
ASSUMED_WARM_BILLED_MS = 100


@dataclass(frozen=True)
class Sample:
    """One invocation's REPORT figures; `init_ms` (or `restore_ms`, SnapStart) marks a cold one.

    An invocation whose init failed (INIT_REPORT Phase: init) and was retried inside it carries
    that init's status and duration instead: its REPORT has no Init Duration, and its Duration
    includes the retried init. It is neither a normal cold start nor a warm one.
    """

    request_id: str
    duration_ms: float
    billed_ms: float
    max_memory_mb: int
    init_ms: float | None = None
    restore_ms: float | None = None
    billed_restore_ms: float | None = None
    failed_init_status: str | None = None  # "timeout" or "error": init was retried in the invoke
    failed_init_ms: float | None = None  # how long the failed init ran before the retry

    @property
    def cold(self) -> bool:
        return self.init_ms is not None or self.restore_ms is not None

    @property
    def retried_init(self) -> bool:
        return self.failed_init_status is not None

    @property
    def retried_wait_ms(self) -> float:
        """What the caller waited: the failed init, then the invoke with the retried init."""
        return (self.failed_init_ms or 0.0) + self.duration_ms

    @property
    def startup_ms(self) -> float:
        """What the environment's start took: Init Duration, or Restore Duration for SnapStart."""
        return self.init_ms if self.init_ms is not None else (self.restore_ms or 0.0)

    @classmethod
    def of(cls, report: InvokeReport) -> Sample:
        return cls(
            request_id=report.request_id,
            duration_ms=report.duration_ms,
            billed_ms=report.billed_ms,
            max_memory_mb=report.max_memory_mb,
            init_ms=report.init_ms,
            restore_ms=report.restore_ms,
            billed_restore_ms=report.billed_restore_ms,
        )

    def to_dict(self) -> JSONObject:
        # SnapStart's and a retried init's keys only where they apply, as the files have them.
        keys = ["init_ms", "duration_ms", "billed_ms", "max_memory_mb", "request_id"]
        if self.restore_ms is not None:
            keys += ["restore_ms", "billed_restore_ms"]
        if self.failed_init_status is not None:
            keys += ["failed_init_status", "failed_init_ms"]
        return fields_dict(self, keys)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        return cls(
            request_id=str(data.get("request_id", "")),
            duration_ms=float(data.get("duration_ms", 0.0)),
            billed_ms=float(data.get("billed_ms", 0.0)),
            max_memory_mb=int(data.get("max_memory_mb", 0)),
            init_ms=_optional_float(data.get("init_ms")),
            restore_ms=_optional_float(data.get("restore_ms")),
            billed_restore_ms=_optional_float(data.get("billed_restore_ms")),
            failed_init_status=data.get("failed_init_status"),
            failed_init_ms=_optional_float(data.get("failed_init_ms")),
        )


@dataclass(frozen=True)
class InvokeFailure:
    """An invocation that yielded no usable sample: a failed init, a function error, no REPORT."""

    phase: str  # "init", "invoke" or "report"
    error_type: str | None
    message: str  # free of environment values
    request_id: str | None = None
    init_ms: float | None = None

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InvokeFailure:
        return cls(
            phase=str(data.get("phase", "invoke")),
            error_type=data.get("error_type"),
            message=str(data.get("message", "")),
            request_id=data.get("request_id"),
            init_ms=_optional_float(data.get("init_ms")),
        )


@dataclass(frozen=True)
class TierResult:
    """One memory size: its cold and warm samples and what they add up to."""

    memory_mb: int
    cold: tuple[Sample, ...] = ()
    warm: tuple[Sample, ...] = ()
    init_median_ms: float | None = None
    init_p90_ms: float | None = None
    warm_median_ms: float | None = None
    cold_penalty_ms: float | None = None
    cost_cold_usd_per_million: float | None = None
    cost_warm_usd_per_million: float | None = None
    failures: tuple[InvokeFailure, ...] = ()
    error: str | None = None  # the tier could not be set up at all
    notes: tuple[str, ...] = ()
    retried: tuple[Sample, ...] = ()  # cold starts whose init failed and was retried in the invoke
    retried_penalty_ms: float | None = None  # their median cold penalty, the failed init included

    # The saved order; the medians and costs are grouped under the keys the files use.
    _KEYS = (
        "memory_mb", "cold", "warm", "retried", "retried_cold_penalty_ms", "init_ms",
        "warm_duration_ms", "cold_penalty_ms", "cost_usd_per_million", "failures", "error", "notes",
    )  # fmt: skip

    def to_dict(self) -> JSONObject:
        return fields_dict(
            self,
            self._KEYS,
            retried_cold_penalty_ms=self.retried_penalty_ms,
            init_ms={"median": self.init_median_ms, "p90": self.init_p90_ms},
            warm_duration_ms={"median": self.warm_median_ms},
            cost_usd_per_million={
                "cold": self.cost_cold_usd_per_million,
                "warm": self.cost_warm_usd_per_million,
            },
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierResult:
        init = data.get("init_ms") or {}
        cost = data.get("cost_usd_per_million") or {}
        return cls(
            memory_mb=int(data.get("memory_mb", 0)),
            cold=tuple(Sample.from_dict(s) for s in data.get("cold", ())),
            warm=tuple(Sample.from_dict(s) for s in data.get("warm", ())),
            init_median_ms=_optional_float(init.get("median")),
            init_p90_ms=_optional_float(init.get("p90")),
            warm_median_ms=_optional_float((data.get("warm_duration_ms") or {}).get("median")),
            cold_penalty_ms=_optional_float(data.get("cold_penalty_ms")),
            cost_cold_usd_per_million=_optional_float(cost.get("cold")),
            cost_warm_usd_per_million=_optional_float(cost.get("warm")),
            failures=tuple(InvokeFailure.from_dict(f) for f in data.get("failures", ())),
            error=data.get("error"),
            notes=tuple(str(n) for n in data.get("notes", ())),
            retried=tuple(Sample.from_dict(s) for s in data.get("retried", ())),
            retried_penalty_ms=_optional_float(data.get("retried_cold_penalty_ms")),
        )


@dataclass(frozen=True)
class FunctionResult:
    """One function's sweep, and whether it was left exactly as it was found."""

    arn: str
    name: str
    runtime: str | None
    architecture: str
    package_type: str
    code_size_bytes: int
    original_memory_mb: int
    restored: bool
    tiers: tuple[TierResult, ...] = ()
    environment_names: tuple[str, ...] = ()  # names only: values are never stored
    package_unzipped_bytes: int | None = None  # deploys: the local package
    source_path: str | None = None
    deployed: bool = False
    deleted: bool | None = None
    restore_command: str | None = None
    delete_command: str | None = None
    recommended_memory_mb: int | None = None
    recommendation: str | None = None
    error: str | None = None
    # --local: the Init Duration coldprof estimates for Lambda (estimate.LambdaEstimate as a
    # dict), beside the emulator's, which is this machine's.
    lambda_estimate: Mapping[str, Any] | None = None
    # The Python that really ran it, where the endpoint says (coldprof's emulator does); None
    # on AWS, where the runtime is what Runtime names.
    python: str | None = None

    @property
    def failed(self) -> bool:
        """True when the function could not be measured at some tier, or not put back."""
        return (
            not self.restored
            or self.error is not None
            or self.delete_command is not None
            or any(not t.cold for t in self.tiers)
        )

    # The saved order (the dataclass's order is its constructor's).
    _KEYS = (
        "arn", "name", "runtime", "architecture", "package_type", "code_size_bytes",
        "package_unzipped_bytes", "original_memory_mb", "environment_names", "restored",
        "restore_command", "source_path", "deployed", "deleted", "delete_command", "tiers",
        "recommended_memory_mb", "recommendation", "error", "lambda_estimate", "python",
    )  # fmt: skip

    def to_dict(self) -> JSONObject:
        estimate = dict(self.lambda_estimate) if self.lambda_estimate else None
        return fields_dict(self, self._KEYS, lambda_estimate=estimate)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionResult:
        return cls(
            arn=str(data.get("arn", "")),
            name=str(data.get("name", "")),
            runtime=data.get("runtime"),
            architecture=str(data.get("architecture", "x86_64")),
            package_type=str(data.get("package_type", "Zip")),
            code_size_bytes=int(data.get("code_size_bytes", 0)),
            original_memory_mb=int(data.get("original_memory_mb", 0)),
            restored=bool(data.get("restored", False)),
            tiers=tuple(TierResult.from_dict(t) for t in data.get("tiers", ())),
            environment_names=tuple(str(n) for n in data.get("environment_names", ())),
            package_unzipped_bytes=optional_int(data, "package_unzipped_bytes"),
            source_path=data.get("source_path"),
            deployed=bool(data.get("deployed", False)),
            deleted=data.get("deleted"),
            restore_command=data.get("restore_command"),
            delete_command=data.get("delete_command"),
            recommended_memory_mb=optional_int(data, "recommended_memory_mb"),
            recommendation=data.get("recommendation"),
            error=data.get("error"),
            lambda_estimate=data.get("lambda_estimate") or None,
            python=data.get("python"),
        )


@dataclass(frozen=True)
class Relation:
    """How one figure moves with another: rank correlation and a least-squares slope."""

    x: str
    y: str
    slope_unit: str
    controls_for: str
    n: int
    groups: int
    spearman: float | None
    slope: float | None
    caveat: str | None

    # The saved order (the dataclass's order is its constructor's).
    _KEYS = ("x", "y", "controls_for", "n", "groups", "spearman", "slope", "slope_unit", "caveat")

    def to_dict(self) -> JSONObject:
        return fields_dict(self, self._KEYS)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Relation:
        return cls(
            x=str(data.get("x", "")),
            y=str(data.get("y", "")),
            slope_unit=str(data.get("slope_unit", "")),
            controls_for=str(data.get("controls_for", "")),
            n=int(data.get("n", 0)),
            groups=int(data.get("groups", 0)),
            spearman=_optional_float(data.get("spearman")),
            slope=_optional_float(data.get("slope")),
            caveat=data.get("caveat"),
        )


RELATION_NAMES = (
    "init_vs_memory",
    "init_vs_package_size",
    "cold_penalty_vs_memory",
    "cold_penalty_vs_package_size",
)


@dataclass(frozen=True)
class Correlation:
    """Across tiers and functions: Init Duration and the cold penalty against memory and size."""

    init_vs_memory: Relation
    init_vs_package_size: Relation
    cold_penalty_vs_memory: Relation
    cold_penalty_vs_package_size: Relation
    package_size_measure: str  # "unzipped" (local packages) or "code_size" (Lambda's CodeSize)

    def relations(self) -> list[tuple[str, Relation]]:
        return [(name, getattr(self, name)) for name in RELATION_NAMES]

    def to_dict(self) -> JSONObject:
        return fields_dict(self, ("package_size_measure", *RELATION_NAMES))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Correlation:
        return cls(
            **{name: Relation.from_dict(data.get(name) or {}) for name in RELATION_NAMES},
            package_size_measure=str(data.get("package_size_measure", "code_size")),
        )


@dataclass(frozen=True)
class RemoteResult:
    """The outcome of `coldprof remote`."""

    functions: tuple[FunctionResult, ...]
    correlation: Correlation
    memory_tiers: tuple[int, ...]
    samples: int
    warm: int
    concurrency: int
    local: bool
    endpoint_url: str | None = None
    created_at: str = ""
    interrupted: bool = False
    schema_version: int = SCHEMA_VERSION
    # With --local, what ran the handlers in the embedded emulator (awslambdaric, or coldprof's
    # stand-in where awslambdaric cannot install); None for a remote endpoint, which says nothing.
    runtime_client: str | None = None

    kind = "remote"

    @property
    def restored(self) -> bool:
        return all(f.restored for f in self.functions)

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.functions)

    # The saved order: what the sweep was, then what it found.
    _KEYS = (
        "schema_version", "kind", "created_at", "local", "endpoint_url", "settings", "interrupted",
        "runtime_client", "functions", "correlation",
    )  # fmt: skip

    def to_dict(self) -> JSONObject:
        settings: JSONObject = {
            "memory_mb": encode(self.memory_tiers),
            "samples": self.samples,
            "warm": self.warm,
            "concurrency": self.concurrency,
        }
        return fields_dict(self, self._KEYS, kind=self.kind, settings=settings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteResult:
        settings = data.get("settings") or {}
        return cls(
            functions=tuple(FunctionResult.from_dict(f) for f in data.get("functions", ())),
            correlation=Correlation.from_dict(data.get("correlation") or {}),
            memory_tiers=tuple(int(m) for m in settings.get("memory_mb", ())),
            samples=int(settings.get("samples", 0)),
            warm=int(settings.get("warm", 0)),
            concurrency=int(settings.get("concurrency", 1)),
            local=bool(data.get("local", False)),
            endpoint_url=data.get("endpoint_url"),
            created_at=str(data.get("created_at", "")),
            interrupted=bool(data.get("interrupted", False)),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            runtime_client=data.get("runtime_client"),
        )


@dataclass(frozen=True)
class Estimate:
    """What a run against real AWS will do and roughly cost, shown before it starts."""

    functions: int
    updates: int
    invocations: int
    cost_usd: float
    max_cost_usd: float

    def describe(self) -> str:
        return (
            f"coldprof will update the configuration {self.updates} times and make "
            f"{self.invocations} invocations on {self.functions} function(s) in AWS; "
            f"estimated cost {_usd(self.cost_usd)} (assuming {ASSUMED_COLD_BILLED_MS} ms per "
            f"cold and {ASSUMED_WARM_BILLED_MS} ms per warm invocation; at most "
            f"{_usd(self.max_cost_usd)} if every invocation ran to its timeout)."
        )


def _usd(amount: float) -> str:
    """Dollars, with enough digits that a sweep's fraction of a cent does not read as $0."""
    return f"${amount:,.2f}" if amount >= 0.01 else f"${amount:.6f}"


def _optional_float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
