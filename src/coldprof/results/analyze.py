"""The analyze result: frozen records of one function's cold starts, and their JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coldprof import stats
from coldprof.results.advisor import ADVISOR_KEY, AdvisorReport
from coldprof.results.dependency_kind import DependencyKind
from coldprof.results.serial import (
    JSONObject,
    JSONValue,
    fields_dict,
    optional_float,
    optional_int,
    pair,
)

SCHEMA_VERSION = 1  # of the analyze result's JSON


def ci95(samples: Sequence[float]) -> tuple[float, float] | None:
    """The median's 95 % interval from per-run samples; None without samples."""
    return stats.median_ci(samples) if samples else None


@dataclass(frozen=True)
class SampleStats:
    median: float
    p90: float
    min: float
    max: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Sequence[float]) -> SampleStats:
        if not samples:
            return cls(0.0, 0.0, 0.0, 0.0, ())
        values = tuple(round(s, 3) for s in samples)
        return cls(
            round(stats.median(values), 3),
            round(stats.percentile(values, 90), 3),
            min(values),
            max(values),
            values,
        )

    @property
    def spread(self) -> float:
        """Median absolute deviation: a noise figure robust to one slow run."""
        if len(self.samples) < 2:
            return 0.0
        return stats.mad(self.samples)

    @property
    def ci95(self) -> tuple[float, float] | None:
        """The median's distribution-free 95 % interval (min to max below 6 samples)."""
        return ci95(self.samples)

    def to_dict(self) -> JSONObject:
        keys = ("median", "ci95", "p90", "min", "max", "samples")
        return fields_dict(self, keys, ci95=pair(self.ci95))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SampleStats:
        samples = tuple(float(s) for s in data.get("samples", ()))
        if samples:
            return cls.of(samples)
        return cls(
            float(data.get("median", 0)),
            float(data.get("p90", 0)),
            float(data.get("min", 0)),
            float(data.get("max", 0)),
            (),
        )


@dataclass(frozen=True)
class DependencyCost:
    """What one dependency costs at init, with the per-run samples its medians come from."""

    name: str
    kind: DependencyKind
    version: str | None
    self_ms: float
    inclusive_ms: float
    modules: int
    unzipped_bytes: int
    zipped_bytes: int
    self_ms_samples: tuple[float, ...] = ()
    inclusive_ms_samples: tuple[float, ...] = ()

    @property
    def self_ms_ci95(self) -> tuple[float, float] | None:
        return ci95(self.self_ms_samples)

    @property
    def inclusive_ms_ci95(self) -> tuple[float, float] | None:
        return ci95(self.inclusive_ms_samples)

    def to_dict(self) -> JSONObject:
        keys = [f.name for f in dataclasses.fields(self)]
        keys.insert(keys.index("self_ms") + 1, "self_ms_ci95")
        keys.insert(keys.index("inclusive_ms") + 1, "inclusive_ms_ci95")
        return fields_dict(
            self,
            keys,
            self_ms_ci95=pair(self.self_ms_ci95),
            inclusive_ms_ci95=pair(self.inclusive_ms_ci95),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DependencyCost:
        return cls(
            name=str(data["name"]),
            kind=DependencyKind(data.get("kind", DependencyKind.THIRD_PARTY)),
            version=data.get("version"),
            self_ms=float(data.get("self_ms", 0)),
            inclusive_ms=float(data.get("inclusive_ms", 0)),
            modules=int(data.get("modules", 0)),
            unzipped_bytes=int(data.get("unzipped_bytes", 0)),
            zipped_bytes=int(data.get("zipped_bytes", 0)),
            self_ms_samples=tuple(data.get("self_ms_samples", ())),
            inclusive_ms_samples=tuple(data.get("inclusive_ms_samples", ())),
        )


@dataclass(frozen=True)
class PackageSummary:
    unzipped_bytes: int
    zipped_bytes: int
    files: int
    has_bytecode: bool
    bytecode_fraction: float
    bytecode_penalty_ms: float | None
    layers_unzipped_bytes: int = 0
    bytecode_penalty_within_noise: bool = False
    warnings: tuple[str, ...] = ()
    # The penalty's 95 % interval, and the cold starts of the other side it comes from.
    bytecode_penalty_ci95: tuple[float, float] | None = None
    bytecode_penalty_runs: int = 0
    # The AWS SDK shipped although the runtime provides it ("boto3 1.35.90"), and its weight.
    runtime_provided: tuple[str, ...] = ()
    runtime_provided_unzipped_bytes: int = 0
    runtime_provided_zipped_bytes: int = 0

    # The saved order, older keys first (the dataclass's order is its constructor's).
    _KEYS = (
        "unzipped_bytes",
        "zipped_bytes",
        "files",
        "has_bytecode",
        "bytecode_fraction",
        "bytecode_penalty_ms",
        "bytecode_penalty_ci95",
        "bytecode_penalty_runs",
        "bytecode_penalty_within_noise",
        "layers_unzipped_bytes",
        "warnings",
        "runtime_provided",
        "runtime_provided_unzipped_bytes",
        "runtime_provided_zipped_bytes",
    )

    def to_dict(self) -> JSONObject:
        return fields_dict(self, self._KEYS, bytecode_penalty_ci95=pair(self.bytecode_penalty_ci95))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PackageSummary:
        interval = data.get("bytecode_penalty_ci95")
        return cls(
            unzipped_bytes=int(data.get("unzipped_bytes", 0)),
            zipped_bytes=int(data.get("zipped_bytes", 0)),
            files=int(data.get("files", 0)),
            has_bytecode=bool(data.get("has_bytecode", False)),
            bytecode_fraction=float(data.get("bytecode_fraction", 0.0)),
            bytecode_penalty_ms=optional_float(data, "bytecode_penalty_ms"),
            bytecode_penalty_within_noise=bool(data.get("bytecode_penalty_within_noise", False)),
            layers_unzipped_bytes=int(data.get("layers_unzipped_bytes", 0)),
            warnings=tuple(data.get("warnings", ())),
            bytecode_penalty_ci95=(float(interval[0]), float(interval[1])) if interval else None,
            bytecode_penalty_runs=int(data.get("bytecode_penalty_runs", 0)),
            runtime_provided=tuple(data.get("runtime_provided", ())),
            runtime_provided_unzipped_bytes=int(data.get("runtime_provided_unzipped_bytes", 0)),
            runtime_provided_zipped_bytes=int(data.get("runtime_provided_zipped_bytes", 0)),
        )


@dataclass(frozen=True)
class ImportTreeNode:
    module: str
    dependency: str
    self_ms: float
    cumulative_ms: float
    children: tuple[ImportTreeNode, ...] = ()

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportTreeNode:
        return cls(
            module=str(data["module"]),
            dependency=str(data.get("dependency", "")),
            self_ms=float(data.get("self_ms", 0)),
            cumulative_ms=float(data.get("cumulative_ms", 0)),
            children=tuple(cls.from_dict(c) for c in data.get("children", ())),
        )


@dataclass(frozen=True)
class InitFailure:
    """How the function's init failed; the function's own words, not coldprof's."""

    status: str  # "error", "exited", "timeout"
    error_type: str | None
    message: str
    output: str  # what the function printed, its traceback included

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InitFailure:
        return cls(
            str(data.get("status", "error")),
            data.get("error_type"),
            str(data.get("message", "")),
            str(data.get("output", "")),
        )


@dataclass(frozen=True)
class DeclaredFunction:
    """What the project's template declares for the analyzed function (see project/)."""

    logical_id: str
    template: str
    source_format: str  # "sam", "cloudformation", "cdk", "serverless"
    runtime: str | None = None
    architecture: str | None = None
    memory_mb: int | None = None
    timeout_s: float | None = None
    # (variable, stand-in value, why): values coldprof made up, never the template's own.
    stand_ins: tuple[tuple[str, str, str], ...] = ()
    local_layers: tuple[str, ...] = ()
    arn_layers: tuple[str, ...] = ()  # given by ARN: not fetched, so not part of the measure
    notes: tuple[str, ...] = ()

    def to_dict(self) -> JSONObject:
        stand_ins: list[JSONValue] = [
            {"variable": v, "value": value, "reason": r} for v, value, r in self.stand_ins
        ]
        return fields_dict(self, stand_ins=stand_ins)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeclaredFunction:
        return cls(
            logical_id=str(data.get("logical_id", "")),
            template=str(data.get("template", "")),
            source_format=str(data.get("source_format", "")),
            runtime=data.get("runtime"),
            architecture=data.get("architecture"),
            memory_mb=optional_int(data, "memory_mb"),
            timeout_s=optional_float(data, "timeout_s"),
            stand_ins=tuple(
                (str(s.get("variable", "")), str(s.get("value", "")), str(s.get("reason", "")))
                for s in data.get("stand_ins", ())
            ),
            local_layers=tuple(data.get("local_layers", ())),
            arn_layers=tuple(data.get("arn_layers", ())),
            notes=tuple(data.get("notes", ())),
        )


@dataclass(frozen=True)
class FunctionLine:
    """One module-level statement of the function's own code (or of a ``--lines`` dependency)
    and what it cost at init: traced in a separate cold start, scaled to the timed runs."""

    file: str  # relative to the task root (a dependency's: to its site)
    line: int  # where the statement starts
    text: str  # the statement, on one line, shortened
    self_ms: float  # less the nested module bodies that are traced too (their lines say)
    kind: str  # "import", "call", "def", "class" or "other"
    callee: str | None = None  # a call's callee as written: "boto3.client"
    module: str = ""
    dependency: str = "(function)"
    traced_ms: float = 0.0  # as the traced cold start measured it, before scaling

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionLine:
        return cls(
            file=str(data.get("file", "")),
            line=int(data.get("line", 0)),
            text=str(data.get("text", "")),
            self_ms=float(data.get("self_ms", 0.0)),
            kind=str(data.get("kind", "other")),
            callee=data.get("callee"),
            module=str(data.get("module", "")),
            dependency=str(data.get("dependency", "(function)")),
            traced_ms=float(data.get("traced_ms", 0.0)),
        )


@dataclass(frozen=True)
class InvocationImport:
    """A dependency the first invocation imported, with what that import took (inclusive)."""

    name: str
    inclusive_ms: float

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InvocationImport:
        return cls(str(data.get("name", "")), float(data.get("inclusive_ms", 0.0)))


@dataclass(frozen=True)
class FirstInvocation:
    """``--event``: the event run twice after each timed init, in the same environment."""

    event: str
    duration_ms: float | None  # the first invocation's median
    warm_duration_ms: float | None  # the second's
    imports: tuple[InvocationImport, ...]  # what the first imported, heaviest first
    cold_penalty_ms: float | None  # init + first − warm, of the medians
    duration_ms_samples: tuple[float, ...] = ()
    warm_duration_ms_samples: tuple[float, ...] = ()
    error: str | None = None  # the handler failed: no figures

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FirstInvocation:
        return cls(
            event=str(data.get("event", "")),
            duration_ms=optional_float(data, "duration_ms"),
            warm_duration_ms=optional_float(data, "warm_duration_ms"),
            imports=tuple(InvocationImport.from_dict(i) for i in data.get("imports", ())),
            cold_penalty_ms=optional_float(data, "cold_penalty_ms"),
            duration_ms_samples=tuple(float(x) for x in data.get("duration_ms_samples", ())),
            warm_duration_ms_samples=tuple(
                float(x) for x in data.get("warm_duration_ms_samples", ())
            ),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class AnalyzeResult:
    """The outcome of `coldprof analyze`: init times, per-dependency costs and the import tree."""

    handler: str
    python: str
    platform: str
    architecture: str
    function_path: str
    task_root: str
    built: bool
    runs: int
    init_ms: SampleStats
    package: PackageSummary
    dependencies: tuple[DependencyCost, ...]
    imports: tuple[ImportTreeNode, ...]
    failure: InitFailure | None = None
    # Cold starts run but not counted: they only warmed the page cache (and why).
    discarded_runs: int = 0
    discarded_reason: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)  # later stages' findings (estimate)
    # The function's own init, line by line (one traced cold start, scaled to the timed runs).
    function_lines: tuple[FunctionLine, ...] = ()
    function_lines_tracer: str = ""  # "sys.monitoring" or "sys.settrace"; "" when not traced
    function_lines_note: str | None = None  # why there are none, when the trace failed
    first_invocation: FirstInvocation | None = None  # --event
    # Invariants the attribution broke (see invariants.py): coldprof's bug, never the function's.
    attribution_problems: tuple[str, ...] = ()
    # Per run, what all the imports took (-X importtime's top-level rows): what self ms divide up.
    import_ms: SampleStats | None = None
    schema_version: int = SCHEMA_VERSION
    declared: DeclaredFunction | None = None  # from the project's template, when there is one
    # --runs auto: what ended the measuring (the interval's precision, or --max-runs).
    runs_stopped_by: str | None = None
    # What ran the handler: "awslambdaric", or "coldprof's stand-in" where it cannot install.
    runtime_client: str = "awslambdaric"
    # Where and on what it ran (older files: coldprof's own Python, the folders as they were).
    declared_runtime: str | None = None  # the function's Runtime, e.g. "python3.13"
    interpreter: str = ""  # the path of the Python that ran (`python` is its version)
    runtime_sdk: str = ""  # the boto3/botocore of the runtime directory, and why those
    filesystem: str = "host"  # "lambda", "copy" or "host" (see lambda_fs)
    page_cache: str = "warm"  # "cold": package and layers evicted before each cold start
    installer: str | None = None  # what built the package: "pip" or "uv"; None: not built
    run_disk_read_bytes: tuple[int | None, ...] = ()  # per counted cold start
    notes: tuple[str, ...] = ()  # what the reader must know about how it was measured
    advisor: AdvisorReport | None = None  # --event/--verify: what init imports that nothing ran

    kind = "analyze"

    def dependency(self, name: str) -> DependencyCost | None:
        return next((d for d in self.dependencies if d.name == name), None)

    # The saved order (the dataclass's order is its constructor's); "declared" and the extras
    # follow, when there are any.
    _KEYS = (
        "schema_version",
        "kind",
        "handler",
        "python",
        "platform",
        "architecture",
        "function_path",
        "task_root",
        "built",
        "runs",
        "init_ms",
        "package",
        "dependencies",
        "imports",
        "failure",
        "discarded_runs",
        "discarded_reason",
        "function_lines",
        "function_lines_tracer",
        "function_lines_note",
        "first_invocation",
        "runs_stopped_by",
        "attribution_problems",
        "import_ms",
        "runtime_client",
        "declared_runtime",
        "interpreter",
        "runtime_sdk",
        "filesystem",
        "page_cache",
        "installer",
        "run_disk_read_bytes",
        "notes",
    )

    def to_dict(self) -> JSONObject:
        data = fields_dict(self, self._KEYS, kind=self.kind)
        if self.declared is not None:
            data["declared"] = self.declared.to_dict()
        data.update(self.extras)
        if self.advisor is not None:
            data[ADVISOR_KEY] = self.advisor.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzeResult:
        known = {*cls._KEYS, "declared", ADVISOR_KEY}
        failure = data.get("failure")
        advisor = data.get(ADVISOR_KEY)
        declared = data.get("declared")
        first = data.get("first_invocation")
        return cls(
            handler=str(data.get("handler", "")),
            python=str(data.get("python", "")),
            platform=str(data.get("platform", "")),
            architecture=str(data.get("architecture", "")),
            function_path=str(data.get("function_path", "")),
            task_root=str(data.get("task_root", "")),
            built=bool(data.get("built", False)),
            runs=int(data.get("runs", 0)),
            init_ms=SampleStats.from_dict(data.get("init_ms", {})),
            package=PackageSummary.from_dict(data.get("package", {})),
            dependencies=tuple(DependencyCost.from_dict(d) for d in data.get("dependencies", ())),
            imports=tuple(ImportTreeNode.from_dict(n) for n in data.get("imports", ())),
            failure=InitFailure.from_dict(failure) if failure else None,
            discarded_runs=int(data.get("discarded_runs", 0)),
            discarded_reason=data.get("discarded_reason"),
            attribution_problems=tuple(data.get("attribution_problems", ())),
            import_ms=SampleStats.from_dict(data["import_ms"]) if data.get("import_ms") else None,
            extras={k: v for k, v in data.items() if k not in known},
            function_lines=tuple(FunctionLine.from_dict(x) for x in data.get("function_lines", ())),
            function_lines_tracer=str(data.get("function_lines_tracer", "")),
            function_lines_note=data.get("function_lines_note"),
            first_invocation=FirstInvocation.from_dict(first) if first else None,
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            declared=DeclaredFunction.from_dict(declared) if declared else None,
            runs_stopped_by=data.get("runs_stopped_by"),
            runtime_client=str(data.get("runtime_client", "awslambdaric")),
            declared_runtime=data.get("declared_runtime"),
            interpreter=str(data.get("interpreter", "")),
            runtime_sdk=str(data.get("runtime_sdk", "")),
            filesystem=str(data.get("filesystem", "host")),
            page_cache=str(data.get("page_cache", "warm")),
            installer=data.get("installer"),
            run_disk_read_bytes=tuple(data.get("run_disk_read_bytes", ())),
            notes=tuple(str(n) for n in data.get("notes", ())),
            advisor=AdvisorReport.from_dict(advisor) if isinstance(advisor, Mapping) else None,
        )
