"""The audit's records (budgets, deltas, changes, findings, the result) and their JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coldprof.results.analyze import AnalyzeResult
from coldprof.results.serial import JSONObject, fields_dict, optional_float, optional_int

# The audit's own JSON schema; an audit embeds analyze results, which carry theirs.
SCHEMA_VERSION = 1
DEFAULT_REGRESSION_PCT = 10.0
DEFAULT_MIN_REGRESSION_MS = 5.0


@dataclass(frozen=True)
class Budgets:
    """What the audit holds a result to; None means no such budget."""

    max_init_ms: float | None = None
    max_dependency_ms: float | None = None
    max_package_mb: float | None = None
    max_regression_pct: float = DEFAULT_REGRESSION_PCT
    min_regression_ms: float = DEFAULT_MIN_REGRESSION_MS

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Budgets:
        return cls(
            max_init_ms=optional_float(data, "max_init_ms"),
            max_dependency_ms=optional_float(data, "max_dependency_ms"),
            max_package_mb=optional_float(data, "max_package_mb"),
            max_regression_pct=float(data.get("max_regression_pct", DEFAULT_REGRESSION_PCT)),
            min_regression_ms=float(data.get("min_regression_ms", DEFAULT_MIN_REGRESSION_MS)),
        )


@dataclass(frozen=True)
class Delta:
    """One timing before and after, and whether the change stands out of the noise."""

    before: float
    after: float
    threshold_ms: float  # what the change had to exceed, in ms
    noise_judged: bool  # False when a side had too few samples to tell its spread
    verdict: str  # "grew", "shrank" or "same"
    p_value: float | None = None  # the rank test's, in the direction of the change
    # audit --base: the median of the paired differences (after − before, run by run) and its
    # 95 % interval, which is what the verdict rests on.
    paired_ms: float | None = None
    ci95: tuple[float, float] | None = None

    @property
    def change(self) -> float:
        """after − before: the median of the paired differences when there are pairs."""
        if self.paired_ms is not None:
            return self.paired_ms
        return round(self.after - self.before, 3)

    @property
    def pct(self) -> float | None:
        return None if self.before <= 0 else round(self.change / self.before * 100, 1)

    # The saved order, the computed change and pct among the fields.
    _KEYS = (
        "before", "after", "change", "pct", "threshold_ms", "noise_judged", "verdict", "p_value",
        "paired_ms", "ci95",
    )  # fmt: skip

    def to_dict(self) -> JSONObject:
        return fields_dict(self, self._KEYS, change=self.change, pct=self.pct)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Delta:
        return cls(
            before=float(data.get("before", 0)),
            after=float(data.get("after", 0)),
            threshold_ms=float(data.get("threshold_ms", 0)),
            noise_judged=bool(data.get("noise_judged", False)),
            verdict=str(data.get("verdict", "same")),
            p_value=optional_float(data, "p_value"),
            paired_ms=optional_float(data, "paired_ms"),
            ci95=(float(data["ci95"][0]), float(data["ci95"][1])) if data.get("ci95") else None,
        )


@dataclass(frozen=True)
class DependencyChange:
    """One dependency in the baseline and now: "new", "removed", "grew", "shrank" or "same"."""

    name: str
    kind: str
    status: str
    self_ms: Delta
    inclusive_ms: Delta
    version_before: str | None = None
    version_after: str | None = None
    unzipped_bytes_before: int = 0
    unzipped_bytes_after: int = 0
    zipped_bytes_before: int = 0
    zipped_bytes_after: int = 0
    modules_before: int = 0
    modules_after: int = 0
    # For a new dependency first imported from inside another new one: that one (the cause).
    pulled_in_by: str | None = None

    @property
    def unzipped_change(self) -> int:
        return self.unzipped_bytes_after - self.unzipped_bytes_before

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DependencyChange:
        return cls(
            name=str(data["name"]),
            kind=str(data.get("kind", "third-party")),
            status=str(data.get("status", "same")),
            self_ms=Delta.from_dict(data.get("self_ms", {})),
            inclusive_ms=Delta.from_dict(data.get("inclusive_ms", {})),
            version_before=data.get("version_before"),
            version_after=data.get("version_after"),
            unzipped_bytes_before=int(data.get("unzipped_bytes_before", 0)),
            unzipped_bytes_after=int(data.get("unzipped_bytes_after", 0)),
            zipped_bytes_before=int(data.get("zipped_bytes_before", 0)),
            zipped_bytes_after=int(data.get("zipped_bytes_after", 0)),
            modules_before=int(data.get("modules_before", 0)),
            modules_after=int(data.get("modules_after", 0)),
            pulled_in_by=data.get("pulled_in_by"),
        )


@dataclass(frozen=True)
class Finding:
    """One broken budget or regression, naming its culprit (a dependency, init, the package)."""

    rule: str
    subject: str
    message: str
    measured: float
    limit: float | None = None
    baseline: float | None = None
    unit: str = "ms"
    pulled_in: tuple[str, ...] = ()  # new dependencies that came with the subject, not findings
    # Where the function imports the culprit, when known (for CI annotations); file relative
    # to the function's directory.
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            rule=str(data.get("rule", "")),
            subject=str(data.get("subject", "")),
            message=str(data.get("message", "")),
            measured=float(data.get("measured", 0)),
            limit=optional_float(data, "limit"),
            baseline=optional_float(data, "baseline"),
            unit=str(data.get("unit", "ms")),
            pulled_in=tuple(str(n) for n in data.get("pulled_in", ())),
            file=data.get("file"),
            line=optional_int(data, "line"),
        )


@dataclass(frozen=True)
class Drift:
    """How much slower this run's machine was than the baseline's, and what says so."""

    factor: float
    control: str
    before_ms: float
    after_ms: float

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Drift:
        return cls(
            float(data.get("factor", 1.0)),
            str(data.get("control", "")),
            float(data.get("before_ms", 0)),
            float(data.get("after_ms", 0)),
        )


@dataclass(frozen=True)
class AuditResult:
    """The outcome of `coldprof audit`: the run, what it was held to, and what broke."""

    result: AnalyzeResult
    budgets: Budgets
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    baseline: AnalyzeResult | None = None  # without its import tree, to keep the file small
    baseline_path: str | None = None
    init: Delta | None = None
    changes: tuple[DependencyChange, ...] = ()
    config_path: str | None = None
    drift: Drift | None = None
    schema_version: int = SCHEMA_VERSION
    # audit --base: the git ref and commit the baseline was built from, measured in the same
    # session as this run, cold starts interleaved and judged pair by pair.
    base_ref: str | None = None
    base_commit: str | None = None

    kind = "audit"

    @property
    def ok(self) -> bool:
        return not self.findings

    # The saved order: the verdict first, the analyze results it rests on last.
    _KEYS = (
        "schema_version", "kind", "ok", "findings", "notes", "budgets", "config_path",
        "baseline_path", "base_ref", "base_commit", "init", "changes", "drift", "result",
        "baseline",
    )  # fmt: skip

    def to_dict(self) -> JSONObject:
        return fields_dict(self, self._KEYS, kind=self.kind, ok=self.ok)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditResult:
        baseline = data.get("baseline")
        init = data.get("init")
        return cls(
            result=AnalyzeResult.from_dict(data.get("result", {})),
            budgets=Budgets.from_dict(data.get("budgets", {})),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            notes=tuple(str(n) for n in data.get("notes", ())),
            baseline=AnalyzeResult.from_dict(baseline) if baseline else None,
            baseline_path=data.get("baseline_path"),
            init=Delta.from_dict(init) if init else None,
            changes=tuple(DependencyChange.from_dict(c) for c in data.get("changes", ())),
            config_path=data.get("config_path"),
            drift=Drift.from_dict(data["drift"]) if data.get("drift") else None,
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            base_ref=data.get("base_ref"),
            base_commit=data.get("base_commit"),
        )

    @property
    def paired(self) -> bool:
        return self.base_ref is not None
