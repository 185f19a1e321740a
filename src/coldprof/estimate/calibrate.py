"""Fits the Lambda init model on published measurements, and a team's own per-account factor."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldprof import stats
from coldprof.errors import UsageError
from coldprof.estimate.model import (
    ADJUSTMENT_FILE,
    ARCHITECTURES,
    Adjustment,
    Coverage,
    InitFeatures,
    Model,
    Term,
    estimate,
    features_from,
    load_model,
)
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.remote import FunctionResult, RemoteResult

MODEL_NAME = "lambda-init-v1"
BASELINE_RUNTIME = "python3.11"
# The terms fitted: a fixed start-up per package type, CPU, and file access for zips (the data
# has a zip and an image of the same 250 MB stack: the zip is twice as slow).
TERMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("one", ("zip",)),
    ("one", ("image",)),
    ("cpu_ms", ("zip", "image")),
    ("file_mb", ("zip",)),
    ("file_mb", ("image",)),
)
HALF_WIDTH_QUANTILE = 0.8  # the range covers this share of the leave-one-out errors


@dataclass(frozen=True)
class Point:
    """One published Init Duration and the features of its rebuild measured here."""

    name: str
    workload: str  # points with the same workload differ only in runtime or architecture
    runtime: str
    architecture: str
    package_type: str
    published_ms: float
    source: str
    features: InitFeatures

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "workload": self.workload,
            "runtime": self.runtime,
            "architecture": self.architecture,
            "package_type": self.package_type,
            "published_ms": self.published_ms,
            "source": self.source,
            "features": self.features.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Point:
        return cls(
            name=str(data["name"]),
            workload=str(data["workload"]),
            runtime=str(data["runtime"]),
            architecture=str(data["architecture"]),
            package_type=str(data["package_type"]),
            published_ms=float(data["published_ms"]),
            source=str(data.get("source", "")),
            features=InitFeatures.from_dict(data["features"]),
        )


# -- fitting ----------------------------------------------------------------------------------
def _ratio_factors(points: Sequence[Point], key: str, baseline: str) -> dict[str, float]:
    """Per value of ``key`` (runtime or architecture): the median ratio of published inits to
    the baseline's, over workloads measured with both and otherwise the same."""
    other = "architecture" if key == "runtime" else "runtime"
    by_cell = {(p.workload, getattr(p, other), getattr(p, key)): p.published_ms for p in points}
    ratios: dict[str, list[float]] = defaultdict(list)
    for (workload, fixed, value), published in by_cell.items():
        base = by_cell.get((workload, fixed, baseline))
        if value != baseline and base:
            ratios[value].append(published / base)
    factors = {value: round(stats.median(r), 4) for value, r in ratios.items()}
    factors[baseline] = 1.0
    return factors


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None for a singular system."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


def _term_values(
    point: Point, reference: Mapping[str, float], terms: Sequence[tuple[str, tuple[str, ...]]]
) -> list[float]:
    scaled = _scaled_cpu(point.features, reference)
    values = {"one": 1.0, "cpu_ms": scaled, "file_mb": point.features.file_mb}
    return [values[f] if point.package_type in types else 0.0 for f, types in terms]


def _scaled_cpu(features: InitFeatures, reference: Mapping[str, float]) -> float:
    here = features.reference_cpu_ms
    there = reference.get(features.runtime)
    if not here or not there:
        return features.cpu_ms or 0.0
    return (features.cpu_ms or 0.0) * there / here


def _least_squares(
    points: Sequence[Point],
    targets: Sequence[float],
    reference: Mapping[str, float],
    terms: Sequence[tuple[str, tuple[str, ...]]],
) -> list[float]:
    """Coefficients minimising the squared relative error; a term that fits negative (or that
    no point exercises) is dropped and the rest refitted, so every coefficient stays physical."""
    active = list(range(len(terms)))
    while active:
        rows = [[_term_values(p, reference, terms)[i] for i in active] for p in points]
        weights = [1 / t**2 for t in targets]
        n = len(active)
        normal = [
            [sum(w * r[i] * r[j] for w, r in zip(weights, rows, strict=True)) for j in range(n)]
            for i in range(n)
        ]
        rhs = [
            sum(w * r[i] * t for w, r, t in zip(weights, rows, targets, strict=True))
            for i in range(n)
        ]
        solution = _solve(normal, rhs)
        if solution is None:
            # A term no remaining point exercises (e.g. the only image point left out).
            unused = [k for k, i in enumerate(active) if all(r[k] == 0 for r in rows)]
            if not unused:
                break
            active.pop(unused[0])
            continue
        negative = [k for k, c in enumerate(solution) if c < 0]
        if not negative:
            coefficients = [0.0] * len(terms)
            for k, i in enumerate(active):
                coefficients[i] = solution[k]
            return coefficients
        active.pop(min(negative, key=lambda k: solution[k]))
    return [0.0] * len(terms)


@dataclass(frozen=True)
class Fit:
    model: Model
    fitted_ms: tuple[float, ...]  # each point, by the model fitted on all
    loo_ms: tuple[float, ...]  # each point, by the model fitted on the others
    # Why each point lies outside what the others cover (its estimate's range would widen).
    loo_outside: tuple[tuple[str, ...], ...] = ()

    def loo_errors_pct(self, points: Sequence[Point]) -> list[float]:
        return [
            round((loo - p.published_ms) / p.published_ms * 100, 1)
            for loo, p in zip(self.loo_ms, points, strict=True)
        ]


def _fit_model(
    points: Sequence[Point],
    reference: Mapping[str, float],
    half_width_pct: float = 30.0,
    median_error_pct: float = 0.0,
    total_points: int | None = None,
) -> Model:
    runtimes = _ratio_factors(points, "runtime", BASELINE_RUNTIME)
    architectures = _ratio_factors(points, "architecture", "x86_64")
    targets = [
        p.published_ms / runtimes.get(p.runtime, 1.0) / architectures.get(p.architecture, 1.0)
        for p in points
    ]
    coefficients = _least_squares(points, targets, reference, TERMS)
    terms = tuple(
        Term(feature, round(c, 6), types)
        for (feature, types), c in zip(TERMS, coefficients, strict=True)
        if c != 0.0
    )
    return Model(
        name=MODEL_NAME,
        terms=terms,
        runtime_factors=runtimes,
        architecture_factors={
            a: architectures.get(a, 1.0) for a in ARCHITECTURES if a in architectures
        },
        reference_cpu_ms=dict(reference),
        coverage=Coverage(
            runtimes=tuple(sorted({p.runtime for p in points}, key=_version_key)),
            architectures=tuple(sorted({p.architecture for p in points})),
            package_types=tuple(sorted({p.package_type for p in points})),
            max_cpu_ms=round(max(_scaled_cpu(p.features, reference) for p in points), 1),
            max_file_mb=round(max(p.features.file_mb for p in points), 1),
        ),
        calibration_points=total_points if total_points is not None else len(points),
        loo_median_error_pct=median_error_pct,
        loo_half_width_pct=half_width_pct,
        baseline_runtime=BASELINE_RUNTIME,
    )


def _version_key(runtime: str) -> tuple[int, ...]:
    digits = runtime.removeprefix("python")
    try:
        return tuple(int(part) for part in digits.split("."))
    except ValueError:
        return (0,)


def _predict(model: Model, point: Point) -> float:
    return model.predict(point.features, point.runtime, point.architecture, point.package_type)


def fit(points: Sequence[Point], reference: Mapping[str, float]) -> Fit:
    """The model fitted on every point, with each point's leave-one-out prediction."""
    if len(points) < 3:
        raise UsageError("at least 3 calibration points are needed to fit the model")
    loo = []
    outside = []
    for i, point in enumerate(points):
        others = [p for j, p in enumerate(points) if j != i]
        without = _fit_model(others, reference)
        loo.append(round(_predict(without, point), 1))
        found = estimate(
            point.features,
            point.architecture,
            point.package_type,
            without,
            runtime=point.runtime,
        )
        outside.append(found.outside if found is not None else ())
    errors = [abs(m - p.published_ms) / p.published_ms for m, p in zip(loo, points, strict=True)]
    median_error = round(stats.median(errors) * 100, 1)
    half_width = round(stats.nearest_rank(errors, HALF_WIDTH_QUANTILE) * 100, 1)
    model = _fit_model(points, reference, half_width, median_error)
    fitted = tuple(round(_predict(model, p), 1) for p in points)
    return Fit(model, fitted, tuple(loo), tuple(outside))


def model_document(
    fit_result: Fit, points: Sequence[Point], skipped: Mapping[str, str], measured_on: str
) -> dict[str, Any]:
    """The shipped file: the model, and the data it was fitted on."""
    errors = fit_result.loo_errors_pct(points)
    return {
        "model": fit_result.model.to_dict(),
        "measured_on": measured_on,
        "points": [
            {
                **p.to_dict(),
                "fitted_ms": f,
                "loo_ms": loo,
                "loo_error_pct": e,
                "loo_outside_coverage": list(why),
            }
            for p, f, loo, e, why in zip(
                points,
                fit_result.fitted_ms,
                fit_result.loo_ms,
                errors,
                fit_result.loo_outside,
                strict=True,
            )
        ],
        "skipped": dict(skipped),
    }


# -- a team's own calibration -----------------------------------------------------------------
def _cold_inits(function: FunctionResult) -> list[float]:
    return [s.init_ms for t in function.tiers for s in t.cold if s.init_ms is not None]


def _matches(function: FunctionResult, analysis: AnalyzeResult) -> bool:
    """A remote function and an analyze of the same code: the deployed directory, else the
    function's name is the directory's (or a `remote` deploy of it)."""
    folder = Path(analysis.function_path)
    if function.source_path:
        return Path(function.source_path).resolve() == folder.resolve()
    return function.name == folder.name or function.name.startswith(f"coldprof-{folder.name}-")


@dataclass(frozen=True)
class AccountCalibration:
    adjustment: Adjustment
    matched: tuple[tuple[str, float, float], ...]  # (function, measured ms, model's ms)


def account_adjustment(
    remote: RemoteResult,
    analyses: Sequence[AnalyzeResult],
    model: Model | None = None,
) -> AccountCalibration:
    """The factor that turns the shipped model's figures into this account's: the median of
    measured ÷ estimated Init Duration over the functions of a remote result that an analyze
    covers. The estimate is the model's own, before any earlier adjustment."""
    model = model or load_model()
    if model is None:
        raise UsageError("no Lambda model is installed with coldprof (run `make calibrate`)")
    matched = []
    for function in remote.functions:
        inits = _cold_inits(function)
        analysis = next((a for a in analyses if _matches(function, a)), None)
        if not inits or analysis is None:
            continue
        features = features_from(analysis)
        if features is None:
            raise UsageError(
                f"the analyze of {analysis.function_path} has no init features (it predates "
                "the Lambda estimate): run coldprof analyze again"
            )
        package_type = "image" if function.package_type.lower() == "image" else "zip"
        found = estimate(features, function.architecture, package_type, model)
        if found is None or found.mid_ms <= 0:
            continue
        matched.append((function.name, round(stats.median(inits), 1), found.mid_ms))
    if not matched:
        names = ", ".join(f.name for f in remote.functions) or "none"
        folders = ", ".join(a.function_path for a in analyses) or "none"
        raise UsageError(
            f"no analyze matches a function with cold starts in the remote result (functions: "
            f"{names}; analyses of: {folders})"
        )
    factor = stats.median(measured / estimated for _, measured, estimated in matched)
    adjustment = Adjustment(
        factor=round(factor, 4),
        functions=len(matched),
        created=time.strftime("%Y-%m-%d", time.gmtime()),
        model=model.name,
    )
    return AccountCalibration(adjustment, tuple(matched))


def save_adjustment(adjustment: Adjustment, cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / ADJUSTMENT_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(adjustment.to_dict(), indent=2) + "\n")
    temporary.replace(path)
    return path
