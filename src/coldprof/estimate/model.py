"""On Lambda, expect: Lambda's Init Duration estimated from a local analyze."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from coldprof import stats
from coldprof.errors import UsageError
from coldprof.results.analyze import AnalyzeResult
from coldprof.runner.procstat import ProcessSample

ESTIMATE_KEY = "lambda_estimate"
FEATURES_KEY = "init_features"
MODEL_FILE = Path(__file__).parent / "data" / "lambda_model.json"
ADJUSTMENT_FILE = "lambda-adjustment.json"  # in the cache: `coldprof calibrate` writes it
ARCHITECTURES = ("x86_64", "arm64")
PACKAGE_TYPES = ("zip", "image")
# Past this multiple of the largest calibrated value a feature is outside the calibration.
COVERAGE_MARGIN = 1.5
MIN_HALF_WIDTH = 0.10  # no range narrower than ±10 %, whatever the calibration says
MB = 2**20


@dataclass(frozen=True)
class InitFeatures:
    """What the model reads from an analyze: over its counted cold starts, the least CPU time
    and the median of the rest."""

    runtime: str  # "python3.11": the interpreter that ran the cold starts
    cpu_ms: float | None  # user + system CPU of the whole init, the least of the runs
    read_bytes: int | None  # through read(), page cache or not
    shared_libraries: int | None
    package_library_bytes: int | None
    modules: int  # modules imported (not found in sys.modules)
    reference_cpu_ms: float | None  # the speed reference here, least of its interleaved runs
    reference_runs: int = 0
    package_bytes: int = 0  # unzipped, layers included

    @property
    def file_mb(self) -> float:
        """MB the init reads or maps: what a zip package pays for on Lambda's file system."""
        return ((self.read_bytes or 0) + (self.package_library_bytes or 0)) / MB

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "cpu_ms": self.cpu_ms,
            "read_bytes": self.read_bytes,
            "shared_libraries": self.shared_libraries,
            "package_library_bytes": self.package_library_bytes,
            "modules": self.modules,
            "reference_cpu_ms": self.reference_cpu_ms,
            "reference_runs": self.reference_runs,
            "package_bytes": self.package_bytes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InitFeatures:
        def optional(key: str, kind: type) -> Any:
            value = data.get(key)
            return None if value is None else kind(value)

        return cls(
            runtime=str(data.get("runtime", "")),
            cpu_ms=optional("cpu_ms", float),
            read_bytes=optional("read_bytes", int),
            shared_libraries=optional("shared_libraries", int),
            package_library_bytes=optional("package_library_bytes", int),
            modules=int(data.get("modules", 0)),
            reference_cpu_ms=optional("reference_cpu_ms", float),
            reference_runs=int(data.get("reference_runs", 0)),
            package_bytes=int(data.get("package_bytes", 0)),
        )


def _least_of(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _median_of(values: Sequence[float | int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return stats.median(known) if known else None


def features_of(
    runtime: str,
    samples: Sequence[ProcessSample | None],
    module_counts: Sequence[int],
    references: Sequence[float | None],
    package_bytes: int,
) -> InitFeatures:
    """The model's features from the counted cold starts and the interleaved references."""
    present = [s for s in samples if s is not None]

    def median_int(key: str) -> int | None:
        value = _median_of([getattr(s, key) for s in present])
        return None if value is None else round(value)

    # CPU time: the least of the runs, for the init and the reference alike. Contention from
    # other work only ever adds CPU time (cold caches, preemption), so the least is the run
    # closest to the work itself.
    cpu = _least_of([s.cpu_ms for s in present])
    reference = _least_of(list(references))
    return InitFeatures(
        runtime=runtime,
        cpu_ms=None if cpu is None else round(cpu, 3),
        read_bytes=median_int("read_chars"),
        shared_libraries=median_int("shared_libraries"),
        package_library_bytes=median_int("package_library_bytes"),
        modules=round(stats.median(module_counts)) if module_counts else 0,
        reference_cpu_ms=None if reference is None else round(reference, 3),
        reference_runs=sum(1 for r in references if r is not None),
        package_bytes=package_bytes,
    )


# -- the model --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    """One additive term: coefficient × feature, for some package types."""

    feature: str  # "one", "cpu_ms" (at the calibration machine's speed) or "file_mb"
    coefficient: float
    package_types: tuple[str, ...] = PACKAGE_TYPES


@dataclass(frozen=True)
class Coverage:
    runtimes: tuple[str, ...]
    architectures: tuple[str, ...]
    package_types: tuple[str, ...]
    max_cpu_ms: float
    max_file_mb: float


@dataclass(frozen=True)
class Model:
    """init = (Σ terms) × runtime factor × architecture factor, all fitted on published data."""

    name: str
    terms: tuple[Term, ...]
    runtime_factors: Mapping[str, float]  # relative to the baseline runtime
    architecture_factors: Mapping[str, float]  # relative to x86_64
    reference_cpu_ms: Mapping[str, float]  # the speed reference on the calibration machine
    coverage: Coverage
    calibration_points: int
    loo_median_error_pct: float
    loo_half_width_pct: float  # the range: mid ÷ (1 + w) to mid × (1 + w)
    baseline_runtime: str = "python3.11"

    def cpu_at_calibration_speed(self, features: InitFeatures) -> tuple[float, float | None]:
        """Init CPU ms scaled to the calibration machine, and the factor used (None: none)."""
        cpu = features.cpu_ms or 0.0
        reference = self.reference_cpu_ms.get(features.runtime)
        if reference is None and self.reference_cpu_ms:
            reference = self.reference_cpu_ms.get(self.baseline_runtime)
        if reference is None or not features.reference_cpu_ms:
            return cpu, None
        factor = reference / features.reference_cpu_ms
        return cpu * factor, factor

    def raw(self, features: InitFeatures, package_type: str) -> float:
        """The sum of the terms: baseline runtime, x86_64."""
        cpu, _ = self.cpu_at_calibration_speed(features)
        values = {"one": 1.0, "cpu_ms": cpu, "file_mb": features.file_mb}
        return sum(
            t.coefficient * values[t.feature] for t in self.terms if package_type in t.package_types
        )

    def predict(
        self, features: InitFeatures, runtime: str, architecture: str, package_type: str
    ) -> float:
        return (
            self.raw(features, package_type)
            * self.runtime_factors.get(runtime, 1.0)
            * self.architecture_factors.get(architecture, 1.0)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "form": "init_ms = (sum of coefficient × feature) × runtime_factor × "
            "architecture_factor; cpu_ms is the init's CPU time scaled by the speed reference "
            "to the calibration machine",
            "terms": [
                {
                    "feature": t.feature,
                    "coefficient": t.coefficient,
                    "package_types": list(t.package_types),
                }
                for t in self.terms
            ],
            "runtime_factors": dict(self.runtime_factors),
            "architecture_factors": dict(self.architecture_factors),
            "reference_cpu_ms": dict(self.reference_cpu_ms),
            "coverage": {
                "runtimes": list(self.coverage.runtimes),
                "architectures": list(self.coverage.architectures),
                "package_types": list(self.coverage.package_types),
                "max_cpu_ms": self.coverage.max_cpu_ms,
                "max_file_mb": self.coverage.max_file_mb,
            },
            "calibration_points": self.calibration_points,
            "loo_median_error_pct": self.loo_median_error_pct,
            "loo_half_width_pct": self.loo_half_width_pct,
            "baseline_runtime": self.baseline_runtime,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        coverage = data.get("coverage", {})
        return cls(
            name=str(data["name"]),
            terms=tuple(
                Term(
                    str(t["feature"]),
                    float(t["coefficient"]),
                    tuple(t.get("package_types", PACKAGE_TYPES)),
                )
                for t in data.get("terms", ())
            ),
            runtime_factors={str(k): float(v) for k, v in data.get("runtime_factors", {}).items()},
            architecture_factors={
                str(k): float(v) for k, v in data.get("architecture_factors", {}).items()
            },
            reference_cpu_ms={
                str(k): float(v) for k, v in data.get("reference_cpu_ms", {}).items()
            },
            coverage=Coverage(
                runtimes=tuple(coverage.get("runtimes", ())),
                architectures=tuple(coverage.get("architectures", ())),
                package_types=tuple(coverage.get("package_types", ())),
                max_cpu_ms=float(coverage.get("max_cpu_ms", 0.0)),
                max_file_mb=float(coverage.get("max_file_mb", 0.0)),
            ),
            calibration_points=int(data.get("calibration_points", 0)),
            loo_median_error_pct=float(data.get("loo_median_error_pct", 0.0)),
            loo_half_width_pct=float(data.get("loo_half_width_pct", 30.0)),
            baseline_runtime=str(data.get("baseline_runtime", "python3.11")),
        )


def load_model(path: Path = MODEL_FILE) -> Model | None:
    """The shipped model, or None when it is missing or unreadable (no estimate then)."""
    try:
        data = json.loads(path.read_text())
        return Model.from_dict(data["model"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- a team's own adjustment ------------------------------------------------------------------
@dataclass(frozen=True)
class Adjustment:
    """A per-account factor on the model's figure, from `coldprof calibrate`."""

    factor: float
    functions: int
    created: str
    model: str  # the model it was measured against

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "functions": self.functions,
            "created": self.created,
            "model": self.model,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Adjustment:
        return cls(
            factor=float(data["factor"]),
            functions=int(data.get("functions", 0)),
            created=str(data.get("created", "")),
            model=str(data.get("model", "")),
        )

    def describe(self) -> str:
        plural = "" if self.functions == 1 else "s"
        return f"account adjustment ×{self.factor:.2f} ({self.functions} function{plural})"


def load_adjustment(cache_dir: Path) -> Adjustment | None:
    try:
        return Adjustment.from_dict(json.loads((cache_dir / ADJUSTMENT_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- the estimate -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LambdaEstimate:
    low_ms: float
    mid_ms: float
    high_ms: float
    runtime: str
    architecture: str
    package_type: str
    model: str
    calibration_points: int
    loo_median_error_pct: float
    speed_factor: float | None = None  # calibration machine's speed ÷ this machine's
    adjustment: str | None = None
    outside: tuple[str, ...] = ()  # why the range is wider than the calibration's

    def to_dict(self) -> dict[str, Any]:
        return {
            "low_ms": self.low_ms,
            "mid_ms": self.mid_ms,
            "high_ms": self.high_ms,
            "runtime": self.runtime,
            "architecture": self.architecture,
            "package_type": self.package_type,
            "model": self.model,
            "calibration_points": self.calibration_points,
            "loo_median_error_pct": self.loo_median_error_pct,
            "speed_factor": self.speed_factor,
            "adjustment": self.adjustment,
            "outside_calibration": list(self.outside),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LambdaEstimate:
        speed = data.get("speed_factor")
        return cls(
            low_ms=float(data["low_ms"]),
            mid_ms=float(data["mid_ms"]),
            high_ms=float(data["high_ms"]),
            runtime=str(data.get("runtime", "")),
            architecture=str(data.get("architecture", "")),
            package_type=str(data.get("package_type", "")),
            model=str(data.get("model", "")),
            calibration_points=int(data.get("calibration_points", 0)),
            loo_median_error_pct=float(data.get("loo_median_error_pct", 0.0)),
            speed_factor=None if speed is None else float(speed),
            adjustment=data.get("adjustment"),
            outside=tuple(data.get("outside_calibration", ())),
        )

    def line(self) -> str:
        """The table's one line."""
        text = (
            f"on Lambda (estimate): {self.low_ms:,.0f}–{self.high_ms:,.0f} ms, {self.runtime} "
            f"{self.architecture} {self.package_type}; calibrated on {self.calibration_points} "
            f"published measurements, median error {self.loo_median_error_pct:.0f}%"
        )
        if self.adjustment:
            text += f"; {self.adjustment}"
        if self.outside:
            text += f"; range widened: {'; '.join(self.outside)}"
        return text


def _outside(
    model: Model,
    features: InitFeatures,
    cpu: float,
    runtime: str,
    architecture: str,
    package_type: str,
) -> list[str]:
    reasons = []
    if runtime not in model.coverage.runtimes:
        known = ", ".join(model.coverage.runtimes) or "none"
        reasons.append(f"{runtime} is not in the calibration ({known})")
    if architecture not in model.coverage.architectures:
        reasons.append(f"no calibration point on {architecture}")
    if package_type not in model.coverage.package_types:
        reasons.append(f"no calibration point packaged as {package_type}")
    if cpu > COVERAGE_MARGIN * model.coverage.max_cpu_ms:
        reasons.append(
            f"init CPU {cpu:,.0f} ms is far past the largest calibrated "
            f"({model.coverage.max_cpu_ms:,.0f} ms)"
        )
    if features.file_mb > COVERAGE_MARGIN * model.coverage.max_file_mb:
        reasons.append(
            f"init reads {features.file_mb:,.0f} MB, far past the largest calibrated "
            f"({model.coverage.max_file_mb:,.0f} MB)"
        )
    if features.reference_cpu_ms is None:
        reasons.append("the speed reference did not run, so this machine's speed is not known")
    return reasons


def estimate(
    features: InitFeatures,
    architecture: str = "x86_64",
    package_type: str = "zip",
    model: Model | None = None,
    adjustment: Adjustment | None = None,
    runtime: str | None = None,
) -> LambdaEstimate | None:
    """The range Lambda's Init Duration should fall in; None without a model, or where the
    init's CPU time could not be read (no /proc): a figure from the fixed start-up alone would
    mislead. The runtime on Lambda is the Python that ran the analyze unless given."""
    model = model or load_model()
    if model is None or features.cpu_ms is None:
        return None
    runtime = runtime or features.runtime
    cpu, speed = model.cpu_at_calibration_speed(features)
    mid = model.predict(features, runtime, architecture, package_type)
    name = model.name
    adjusted = None
    if adjustment is not None:
        mid *= adjustment.factor
        adjusted = adjustment.describe()
        name = f"{model.name} × account adjustment"
    reasons = _outside(model, features, cpu, runtime, architecture, package_type)
    width = max(model.loo_half_width_pct / 100, MIN_HALF_WIDTH)
    # Each reason doubles the half-width: the model says less the further it reaches.
    width *= 2 ** len(reasons)
    return LambdaEstimate(
        low_ms=round(mid / (1 + width), 1),
        mid_ms=round(mid, 1),
        high_ms=round(mid * (1 + width), 1),
        runtime=runtime,
        architecture=architecture,
        package_type=package_type,
        model=name,
        calibration_points=model.calibration_points,
        loo_median_error_pct=model.loo_median_error_pct,
        speed_factor=None if speed is None else round(speed, 3),
        adjustment=adjusted,
        outside=tuple(reasons),
    )


def check_target(architecture: str, package_type: str) -> None:
    """UsageError for an architecture or package type Lambda does not have."""
    if architecture not in ARCHITECTURES:
        raise UsageError(f"--architecture {architecture}: expected {' or '.join(ARCHITECTURES)}")
    if package_type not in PACKAGE_TYPES:
        raise UsageError(f"--package-type {package_type}: expected {' or '.join(PACKAGE_TYPES)}")


def attach(
    result: AnalyzeResult,
    samples: Sequence[ProcessSample | None],
    module_counts: Sequence[int],
    references: Sequence[float | None],
    architecture: str,
    package_type: str,
    cache_dir: Path,
) -> AnalyzeResult:
    """The analyze result with its features and, where a model is shipped, the estimate."""
    version = ".".join(result.python.split(".")[:2])
    package_bytes = result.package.unzipped_bytes + result.package.layers_unzipped_bytes
    features = features_of(f"python{version}", samples, module_counts, references, package_bytes)
    extras = {**result.extras, FEATURES_KEY: features.to_dict()}
    found = estimate(features, architecture, package_type, adjustment=load_adjustment(cache_dir))
    if found is not None:
        extras[ESTIMATE_KEY] = found.to_dict()
    return replace(result, extras=extras)


def estimate_of(result: AnalyzeResult) -> LambdaEstimate | None:
    data = result.extras.get(ESTIMATE_KEY)
    if not isinstance(data, Mapping):
        return None
    try:
        return LambdaEstimate.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def features_from(result: AnalyzeResult) -> InitFeatures | None:
    data = result.extras.get(FEATURES_KEY)
    return InitFeatures.from_dict(data) if isinstance(data, Mapping) else None
