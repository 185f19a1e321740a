"""Pure: an analyze result against budgets and a baseline → findings that name the culprit."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coldprof import stats
from coldprof.errors import UsageError
from coldprof.measure.distributions import STDLIB
from coldprof.render.units import size
from coldprof.results.models import SCHEMA_VERSION, AnalyzeResult, DependencyCost, ImportTreeNode

DEFAULT_REGRESSION_PCT = 10.0
DEFAULT_MIN_REGRESSION_MS = 5.0
# A change must clear this many standard errors of the difference of two medians. Three keeps a
# CI gate quiet on an unlucky run without hiding a real regression of a few ms at 10 runs.
NOISE_Z = 3.0
# The standard error of a median is about 1.2533 σ/√n, and σ is about 1.4826 × MAD.
_MEDIAN_SE_PER_MAD = 1.2533 * 1.4826
# A change must also be one the runs agree on: a one-sided rank test at this level.
SIGNIFICANCE = 0.01
# The most a machine's speed is allowed to explain, either way.
MAX_DRIFT = 4.0
# Below this a percentage of a tiny package is meaningless.
MIN_PACKAGE_GROWTH_BYTES = 256 * 1024
MB = 1024 * 1024

# Rules: the flag (or pyproject key) that governs each finding.
RULE_INIT_BUDGET = "max-init-ms"
RULE_DEPENDENCY_BUDGET = "max-dependency-ms"
RULE_PACKAGE_BUDGET = "max-package-mb"
RULE_NEW_DEPENDENCY = "new-dependency"
RULE_DEPENDENCY_REGRESSION = "dependency-regression"
RULE_INIT_REGRESSION = "init-regression"
RULE_PACKAGE_REGRESSION = "package-regression"

# Dependencies a budget can be held against: the ones a function chooses to import.
_BUDGETED_KINDS = ("third-party", "runtime")


class IncomparableBaselineError(UsageError):
    """The baseline was measured where init times mean something else (Python, OS, CPU)."""


@dataclass(frozen=True)
class Budgets:
    """What the audit holds a result to; None means no such budget."""

    max_init_ms: float | None = None
    max_dependency_ms: float | None = None
    max_package_mb: float | None = None
    max_regression_pct: float = DEFAULT_REGRESSION_PCT
    min_regression_ms: float = DEFAULT_MIN_REGRESSION_MS

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_init_ms": self.max_init_ms,
            "max_dependency_ms": self.max_dependency_ms,
            "max_package_mb": self.max_package_mb,
            "max_regression_pct": self.max_regression_pct,
            "min_regression_ms": self.min_regression_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Budgets:
        def optional(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(
            max_init_ms=optional("max_init_ms"),
            max_dependency_ms=optional("max_dependency_ms"),
            max_package_mb=optional("max_package_mb"),
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "change": self.change,
            "pct": self.pct,
            "threshold_ms": self.threshold_ms,
            "noise_judged": self.noise_judged,
            "verdict": self.verdict,
            "p_value": self.p_value,
            "paired_ms": self.paired_ms,
            "ci95": list(self.ci95) if self.ci95 else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Delta:
        return cls(
            before=float(data.get("before", 0)),
            after=float(data.get("after", 0)),
            threshold_ms=float(data.get("threshold_ms", 0)),
            noise_judged=bool(data.get("noise_judged", False)),
            verdict=str(data.get("verdict", "same")),
            p_value=None if data.get("p_value") is None else float(data["p_value"]),
            paired_ms=None if data.get("paired_ms") is None else float(data["paired_ms"]),
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "self_ms": self.self_ms.to_dict(),
            "inclusive_ms": self.inclusive_ms.to_dict(),
            "version_before": self.version_before,
            "version_after": self.version_after,
            "unzipped_bytes_before": self.unzipped_bytes_before,
            "unzipped_bytes_after": self.unzipped_bytes_after,
            "zipped_bytes_before": self.zipped_bytes_before,
            "zipped_bytes_after": self.zipped_bytes_after,
            "modules_before": self.modules_before,
            "modules_after": self.modules_after,
            "pulled_in_by": self.pulled_in_by,
        }

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "message": self.message,
            "measured": self.measured,
            "limit": self.limit,
            "baseline": self.baseline,
            "unit": self.unit,
            "pulled_in": list(self.pulled_in),
            "file": self.file,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        def optional(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(
            rule=str(data.get("rule", "")),
            subject=str(data.get("subject", "")),
            message=str(data.get("message", "")),
            measured=float(data.get("measured", 0)),
            limit=optional("limit"),
            baseline=optional("baseline"),
            unit=str(data.get("unit", "ms")),
            pulled_in=tuple(str(n) for n in data.get("pulled_in", ())),
            file=data.get("file"),
            line=None if data.get("line") is None else int(data["line"]),
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "budgets": self.budgets.to_dict(),
            "config_path": self.config_path,
            "baseline_path": self.baseline_path,
            "base_ref": self.base_ref,
            "base_commit": self.base_commit,
            "init": self.init.to_dict() if self.init else None,
            "changes": [c.to_dict() for c in self.changes],
            "drift": self.drift.to_dict() if self.drift else None,
            "result": self.result.to_dict(),
            "baseline": self.baseline.to_dict() if self.baseline else None,
        }

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


# -- comparability ------------------------------------------------------------------------------
def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_comparable(
    baseline: AnalyzeResult, python: str, platform: str, architecture: str
) -> None:
    """Refuse a baseline measured on another Python, OS or CPU: its times mean something else."""
    if baseline.failure is not None:
        raise UsageError(
            "the baseline records a failed init, so there is nothing to compare with",
            hint="regenerate it with --update-baseline once the function initializes",
        )
    reasons = []
    if baseline.python and _minor(baseline.python) != _minor(python):
        reasons.append(
            f"it was measured on Python {baseline.python} and this run uses Python {python}; "
            "import times differ between Python versions"
        )
    if baseline.platform and baseline.platform != platform:
        reasons.append(
            f"it was measured on {baseline.platform} and this run is on {platform}; "
            "the same imports cost differently on another operating system"
        )
    if baseline.architecture and baseline.architecture != architecture:
        reasons.append(
            f"it was measured on {baseline.architecture} and this run is on {architecture}; "
            "times from another CPU architecture are not comparable"
        )
    if reasons:
        raise IncomparableBaselineError(
            "cannot compare with the baseline: " + "; and ".join(reasons),
            hint="measure the baseline where the audit runs (same Python, OS and architecture), "
            "or write a new one with --update-baseline",
        )


# -- noise --------------------------------------------------------------------------------------
def _median_se(samples: Sequence[float]) -> float:
    return _MEDIAN_SE_PER_MAD * stats.mad(samples) / math.sqrt(len(samples))


def rank_test_p(lower: Sequence[float], higher: Sequence[float]) -> float:
    """One-sided Mann-Whitney p-value that ``higher`` tends to exceed ``lower``.

    Exact (ties at their mid-rank) for up to 40 samples together, else the normal approximation.
    With few runs the smallest possible p is large (1/20 for 3 against 3): a change then has to
    separate the two sets of runs completely to count.
    """
    n_low, n_high = len(lower), len(higher)
    n = n_low + n_high
    ranks = stats.ranks([*lower, *higher])
    rank_sum = sum(ranks[n_low:])
    if n <= 40:
        counts = stats.rank_sum_counts(n_high, n)
        at_least = sum(counts[math.ceil(rank_sum - 1e-9) :])
        return at_least / sum(counts)
    mean = n_high * (n + 1) / 2
    sd = math.sqrt(n_low * n_high * (n + 1) / 12)
    z = (rank_sum - 0.5 - mean) / sd if sd else 0.0
    return 0.5 * math.erfc(z / math.sqrt(2))


def _smallest_p(n_low: int, n_high: int) -> float:
    return 1 / math.comb(n_low + n_high, n_high)


def _clears(
    before: float,
    after: float,
    before_samples: Sequence[float],
    after_samples: Sequence[float],
    budgets: Budgets,
    upward: bool,
) -> tuple[bool, float, float | None]:
    """Whether after moved from before, in one direction, past noise, floor and percentage;
    with the threshold it had to clear and the rank test's p-value."""
    judged = len(before_samples) >= 2 and len(after_samples) >= 2
    noise, p_value, alpha = 0.0, None, 1.0
    if judged:
        noise = NOISE_Z * math.hypot(_median_se(before_samples), _median_se(after_samples))
        alpha = max(SIGNIFICANCE, _smallest_p(len(before_samples), len(after_samples)))
        lower, higher = (
            (before_samples, after_samples) if upward else (after_samples, before_samples)
        )
        p_value = rank_test_p(lower, higher)
    threshold = max(budgets.min_regression_ms, noise)
    change = (after - before) if upward else (before - after)
    big_enough = before <= 0 or change / before * 100 > budgets.max_regression_pct
    significant = p_value is None or p_value <= alpha + 1e-12
    return big_enough and change > threshold and significant, threshold, p_value


def compare(
    before: float,
    after: float,
    before_samples: Sequence[float],
    after_samples: Sequence[float],
    budgets: Budgets,
    scale: float = 1.0,
) -> Delta:
    """Judge one change: it counts when it clears the runs' noise, the ms floor and the percent.

    Two views of the noise must both agree it is real. Its size: NOISE_Z standard errors of the
    difference of the two medians, each from its runs' median absolute deviation, so one slow
    run does not move it. Its direction: a rank test of the runs at SIGNIFICANCE (complete
    separation when too few runs can reach that), since three runs can show a MAD of nearly
    nothing by chance.

    ``scale`` is how much slower the machine ran for ``after`` (see machine_drift). It only
    ever excuses a change: growth is judged against the baseline slowed down to this run's
    pace when the machine was slower, an improvement against it sped up when it was faster.
    """

    def scaled(factor: float) -> tuple[float, list[float]]:
        return before * factor, [b * factor for b in before_samples]

    slower_before, slower_samples = scaled(max(scale, 1.0))
    grew, up_threshold, p_up = _clears(
        slower_before, after, slower_samples, after_samples, budgets, upward=True
    )
    faster_before, faster_samples = scaled(min(scale, 1.0))
    shrank, down_threshold, p_down = _clears(
        faster_before, after, faster_samples, after_samples, budgets, upward=False
    )
    upward = after >= before
    verdict = "grew" if grew else "shrank" if shrank else "same"
    p_value = p_up if upward else p_down
    return Delta(
        round(before, 3),
        round(after, 3),
        round(up_threshold if upward else down_threshold, 3),
        len(before_samples) >= 2 and len(after_samples) >= 2,
        verdict,
        None if p_value is None else float(f"{p_value:.3g}"),
    )


def compare_paired(
    before_samples: Sequence[float], after_samples: Sequence[float], budgets: Budgets
) -> Delta:
    """Judge one change from runs taken in pairs (audit --base: base and head interleaved).

    Each pair ran within the same second or so, so the machine's drift falls on both sides of
    it: the differences carry the change and little of the drift. The change counts when the
    differences agree on its direction (a sign test at SIGNIFICANCE: the 98 % interval of their
    median lies wholly on one side of 0), and the median clears the ms floor and the
    percentage. The 95 % interval is what the report shows. A side with no samples (a
    dependency only one side imports) is 0 in every run.
    """
    n = max(len(before_samples), len(after_samples))
    before_runs = list(before_samples) or [0.0] * n
    after_runs = list(after_samples) or [0.0] * n
    before, after = stats.median(before_runs), stats.median(after_runs)
    differences = stats.paired_differences(before_runs, after_runs)
    middle = stats.median(differences)
    low, high = stats.median_ci(differences)
    # The verdict asks more than the 95 % interval shown: a one-sided sign test at SIGNIFICANCE,
    # the level the rank test holds a baseline file to. An audit judges init and every
    # dependency at once, so each must be hard to fool: with 10 pairs, all must agree.
    strict_low, strict_high = stats.median_ci(differences, 1 - 2 * SIGNIFICANCE)
    threshold = max(budgets.min_regression_ms, budgets.max_regression_pct / 100 * before)
    grew = strict_low > 0 and middle > threshold
    shrank = strict_high < 0 and -middle > threshold
    return Delta(
        round(before, 3),
        round(after, 3),
        round(threshold, 3),
        n >= 2,
        "grew" if grew else "shrank" if shrank else "same",
        paired_ms=round(middle, 3),
        ci95=(round(low, 3), round(high, 3)),
    )


@dataclass(frozen=True)
class Drift:
    """How much slower this run's machine was than the baseline's, and what says so."""

    factor: float
    control: str
    before_ms: float
    after_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "control": self.control,
            "before_ms": self.before_ms,
            "after_ms": self.after_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Drift:
        return cls(
            float(data.get("factor", 1.0)),
            str(data.get("control", "")),
            float(data.get("before_ms", 0)),
            float(data.get("after_ms", 0)),
        )


def runtime_only(result: AnalyzeResult) -> set[str]:
    """Runtime-provided dependencies the runtime imports for itself, before the handler."""
    pulled_in = handler_dependencies(result)
    if pulled_in is None:
        return set()
    return {d.name for d in result.dependencies if d.kind == "runtime" and d.name not in pulled_in}


def machine_drift(baseline: AnalyzeResult, result: AnalyzeResult) -> Drift | None:
    """The machine's speed between the two runs, from imports no change to a function touches.

    A CI runner shared with other jobs can run the audit twice as slowly as the baseline a
    minute earlier, and every dependency then "grows". The runtime interface client's own
    imports (awslambdaric, before the handler's) are the same code in both runs: when they
    moved, beyond their noise, the machine did.
    """
    before = {d.name: d for d in baseline.dependencies}
    candidates = [
        (d, before[d.name])
        for d in result.dependencies
        if d.name in runtime_only(result) & runtime_only(baseline)
        and d.version == before[d.name].version
        and len(d.inclusive_ms_samples) >= 2
        and len(before[d.name].inclusive_ms_samples) >= 2
        and before[d.name].inclusive_ms > 0
    ]
    if not candidates:
        return None
    now, then = max(candidates, key=lambda pair: pair[1].inclusive_ms)
    factor = now.inclusive_ms / then.inclusive_ms
    alpha = max(
        SIGNIFICANCE, _smallest_p(len(then.inclusive_ms_samples), len(now.inclusive_ms_samples))
    )
    slower = rank_test_p(then.inclusive_ms_samples, now.inclusive_ms_samples) <= alpha + 1e-12
    faster = rank_test_p(now.inclusive_ms_samples, then.inclusive_ms_samples) <= alpha + 1e-12
    if not (slower or faster) or abs(factor - 1) < 0.05:
        return None
    factor = min(max(factor, 1 / MAX_DRIFT), MAX_DRIFT)
    return Drift(round(factor, 3), now.name, then.inclusive_ms, now.inclusive_ms)


# -- the audit ----------------------------------------------------------------------------------
def audit(
    result: AnalyzeResult,
    budgets: Budgets,
    baseline: AnalyzeResult | None = None,
    baseline_path: str | None = None,
    config_path: str | None = None,
    base_ref: str | None = None,
    base_commit: str | None = None,
) -> AuditResult:
    """Hold ``result`` to ``budgets`` and, when given, compare it with ``baseline``.

    With ``base_ref`` the baseline is the function at that git ref, measured in pairs with this
    run (see compare_paired); without, a saved file from another session, corrected for the
    machine's drift (see machine_drift).
    """
    paired = base_ref is not None
    findings = _budget_findings(result, budgets)
    notes: list[str] = []
    init = None
    drift = None
    changes: tuple[DependencyChange, ...] = ()
    if baseline is not None:
        check_comparable(baseline, result.python, result.platform, result.architecture)
        if baseline.handler and result.handler and baseline.handler != result.handler:
            notes.append(
                f"the baseline is of handler {baseline.handler}, this run of {result.handler}"
            )
        if baseline.python != result.python:
            notes.append(f"the baseline used Python {baseline.python}, this run {result.python}")
        if paired and baseline.runs != result.runs:
            raise ValueError("paired runs need as many cold starts on both sides")
        drift = None if paired else machine_drift(baseline, result)
        scale = drift.factor if drift else 1.0
        if drift is not None:
            pace = (
                f"{drift.factor:.2f}× as slowly as for the baseline; growth up to that pace is "
                "not counted as a regression"
                if drift.factor > 1
                else f"{1 / drift.factor:.2f}× as fast as for the baseline; improvements up to "
                "that pace are not counted"
            )
            notes.append(
                f"this machine ran {pace} (the runtime's own imports, the same code in both runs, "
                f"{drift.control}: {_ms(drift.before_ms)} → {_ms(drift.after_ms)})"
            )
        if paired:
            init = compare_paired(baseline.init_ms.samples, result.init_ms.samples, budgets)
        else:
            init = compare(
                baseline.init_ms.median,
                result.init_ms.median,
                baseline.init_ms.samples,
                result.init_ms.samples,
                budgets,
                scale,
            )
        changes = _with_causes(_changes(baseline, result, budgets, scale, paired), result.imports)
        # The runtime's own imports are nobody's change: they never name a culprit.
        runtime_own = runtime_only(result)
        culprits = [c for c in changes if c.name not in runtime_own]
        findings += _regression_findings(baseline, result, budgets, init, culprits)
        notes += _improvement_notes(init, culprits)
        if not init.noise_judged:
            notes.append("the baseline has fewer than 2 runs: changes were judged by the ms floor")
        baseline = replace(baseline, imports=())
    if not budgets_set(budgets) and baseline is None:
        notes.append("no budgets and no baseline: nothing to hold this run to")
    return AuditResult(
        result=result,
        budgets=budgets,
        findings=tuple(findings),
        notes=tuple(notes),
        baseline=baseline,
        baseline_path=baseline_path,
        init=init,
        changes=changes,
        config_path=config_path,
        drift=drift,
        base_ref=base_ref,
        base_commit=base_commit,
    )


def budgets_set(budgets: Budgets) -> bool:
    return any(
        v is not None
        for v in (budgets.max_init_ms, budgets.max_dependency_ms, budgets.max_package_mb)
    )


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _signed_ms(value: float) -> str:
    return f"{value:+,.1f} ms"


def _mb(value: float) -> str:
    return size(int(value))


def _signed_mb(value: float) -> str:
    return ("+" if value >= 0 else "-") + size(int(abs(value)))


def handler_dependencies(result: AnalyzeResult) -> set[str] | None:
    """The dependencies the handler's own import pulls in; None when the tree lacks the handler."""
    module = result.handler.rsplit(".", 1)[0].replace("/", ".")
    found: set[str] = set()

    def collect(node: ImportTreeNode) -> None:
        found.add(node.dependency)
        for child in node.children:
            collect(child)

    def find(nodes: Sequence[ImportTreeNode]) -> bool:
        for node in nodes:
            if node.module == module:
                collect(node)
                return True
            if find(node.children):
                return True
        return False

    return found if find(result.imports) else None


def _budgeted(result: AnalyzeResult) -> list[DependencyCost]:
    """Dependencies the function itself imports, not those the runtime loads for every function."""
    pulled_in = handler_dependencies(result)
    return [
        d
        for d in result.dependencies
        if d.kind in _BUDGETED_KINDS
        and (d.name in pulled_in if pulled_in is not None else d.kind == "third-party")
    ]


def _largest(deps: Sequence[DependencyCost], key: str, total: float, count: int = 3) -> str:
    """The few dependencies that make up most of ``total``; each must hold at least 5% of it."""
    ranked = sorted(deps, key=lambda d: -float(getattr(d, key)))[:count]
    shown = [d for d in ranked if getattr(d, key) >= 0.05 * total and getattr(d, key) > 0]
    if key.endswith("_bytes"):
        return ", ".join(f"{d.name} {_mb(getattr(d, key))}" for d in shown)
    return ", ".join(f"{d.name} {_ms(getattr(d, key))}" for d in shown)


def _budget_findings(result: AnalyzeResult, budgets: Budgets) -> list[Finding]:
    findings = []
    deps = _budgeted(result)
    init = result.init_ms
    if budgets.max_init_ms is not None and init.median > budgets.max_init_ms:
        heaviest = _largest(deps, "inclusive_ms", init.median)
        findings.append(
            Finding(
                RULE_INIT_BUDGET,
                "init",
                f"init takes {_ms(init.median)} (median of {result.runs}, p90 {_ms(init.p90)}), "
                f"over the {_ms(budgets.max_init_ms)} budget"
                + (f"; the heaviest imports: {heaviest}" if heaviest else ""),
                init.median,
                budgets.max_init_ms,
            )
        )
    if budgets.max_dependency_ms is not None:
        for dep in deps:
            if dep.inclusive_ms > budgets.max_dependency_ms:
                version = f" {dep.version}" if dep.version else ""
                findings.append(
                    Finding(
                        RULE_DEPENDENCY_BUDGET,
                        dep.name,
                        f"{dep.name}{version} costs {_ms(dep.inclusive_ms)} at init "
                        f"(self {_ms(dep.self_ms)}, {dep.modules} modules), over the "
                        f"{_ms(budgets.max_dependency_ms)} budget per dependency",
                        dep.inclusive_ms,
                        budgets.max_dependency_ms,
                    )
                )
    package = result.package
    if budgets.max_package_mb is not None and package.zipped_bytes > budgets.max_package_mb * MB:
        biggest = _largest(
            [d for d in result.dependencies if d.kind in ("third-party", "function")],
            "zipped_bytes",
            package.zipped_bytes,
        )
        findings.append(
            Finding(
                RULE_PACKAGE_BUDGET,
                "package",
                f"the package is {_mb(package.zipped_bytes)} zipped "
                f"({_mb(package.unzipped_bytes)} unzipped), over the "
                f"{budgets.max_package_mb:g} MiB budget"
                + (f"; the largest: {biggest} zipped" if biggest else ""),
                round(package.zipped_bytes / MB, 3),
                budgets.max_package_mb,
                unit="MB",
            )
        )
    return findings


def _changes(
    baseline: AnalyzeResult,
    result: AnalyzeResult,
    budgets: Budgets,
    scale: float,
    paired: bool = False,
) -> tuple[DependencyChange, ...]:
    before = {d.name: d for d in baseline.dependencies}
    after = {d.name: d for d in result.dependencies}
    names = list(after) + [n for n in before if n not in after]
    changes = []
    for name in names:
        old, new = before.get(name), after.get(name)
        absent = DependencyCost(name, (new or old).kind, None, 0.0, 0.0, 0, 0, 0)  # type: ignore[union-attr]
        old_cost, new_cost = old or absent, new or absent
        if paired:
            self_delta = compare_paired(old_cost.self_ms_samples, new_cost.self_ms_samples, budgets)
            inclusive_delta = compare_paired(
                old_cost.inclusive_ms_samples, new_cost.inclusive_ms_samples, budgets
            )
        else:
            self_delta, inclusive_delta = _unpaired(old_cost, new_cost, budgets, scale)
        if old is None:
            status = "new"
        elif new is None:
            status = "removed"
        else:
            status = self_delta.verdict
        changes.append(
            DependencyChange(
                name=name,
                kind=new_cost.kind if new else old_cost.kind,
                status=status,
                self_ms=self_delta,
                inclusive_ms=inclusive_delta,
                version_before=old.version if old else None,
                version_after=new.version if new else None,
                unzipped_bytes_before=old_cost.unzipped_bytes,
                unzipped_bytes_after=new_cost.unzipped_bytes,
                zipped_bytes_before=old_cost.zipped_bytes,
                zipped_bytes_after=new_cost.zipped_bytes,
                modules_before=old_cost.modules,
                modules_after=new_cost.modules,
            )
        )
    return tuple(changes)


def _with_causes(
    changes: tuple[DependencyChange, ...], imports: Sequence[ImportTreeNode]
) -> tuple[DependencyChange, ...]:
    """Each new dependency whose every first import came from inside another new one that is
    itself a finding gets that one (the outermost, along a chain) as ``pulled_in_by``."""
    finding = {c.name for c in changes if c.status == "new" and c.inclusive_ms.verdict == "grew"}
    new = {c.name for c in changes if c.status == "new"}
    entered_from: dict[str, dict[str | None, None]] = defaultdict(dict)  # ordered sets

    def walk(node: ImportTreeNode, owner: str | None) -> None:
        if node.dependency != owner:
            entered_from[node.dependency][owner] = None
        # The standard library is only the way through (importlib, pkgutil): not an owner.
        inner = owner if node.dependency == STDLIB else node.dependency
        for child in node.children:
            walk(child, inner)

    for root in imports:
        walk(root, None)
    direct = {
        name: next(iter(owners))
        for name, owners in entered_from.items()
        if name in new and owners and all(o in new and o != name for o in owners)
    }
    causes = {}
    for name, cause in direct.items():
        seen = {name}
        while cause in direct and cause not in seen:  # pandas ← numpy ← ...: the outermost
            seen.add(cause)
            cause = direct[cause]
        if cause in finding and cause != name:
            causes[name] = cause
    return tuple(
        replace(c, pulled_in_by=causes[c.name]) if c.name in causes else c for c in changes
    )


def _unpaired(
    old: DependencyCost, new: DependencyCost, budgets: Budgets, scale: float
) -> tuple[Delta, Delta]:
    self_delta = compare(
        old.self_ms, new.self_ms, old.self_ms_samples, new.self_ms_samples, budgets, scale
    )
    inclusive_delta = compare(
        old.inclusive_ms,
        new.inclusive_ms,
        old.inclusive_ms_samples,
        new.inclusive_ms_samples,
        budgets,
        scale,
    )
    return self_delta, inclusive_delta


def _describe_growth(change: DependencyChange) -> str:
    s, i = change.self_ms, change.inclusive_ms
    parts = [
        f"self {_ms(s.before)} → {_ms(s.after)} ({_signed_ms(s.change)}"
        + (f", {s.pct:+.0f}%" if s.pct is not None else "")
        + ")",
        f"inclusive {_ms(i.before)} → {_ms(i.after)} ({_signed_ms(i.change)})",
    ]
    if change.unzipped_change:
        parts.append(
            f"{_mb(change.unzipped_bytes_before)} → {_mb(change.unzipped_bytes_after)} unzipped "
            f"({_signed_mb(change.unzipped_change)})"
        )
    if change.modules_after != change.modules_before:
        parts.append(f"modules {change.modules_before} → {change.modules_after}")
    if change.version_before != change.version_after and change.version_after:
        parts.append(f"version {change.version_before or '?'} → {change.version_after}")
    return ", ".join(parts)


def _noise_words(delta: Delta, budgets: Budgets) -> str:
    pct = f"{budgets.max_regression_pct:g}%"
    if delta.ci95 is not None and delta.paired_ms is not None:
        low, high = delta.ci95
        return (
            f"run by run against the base {_signed_ms(delta.paired_ms)} "
            f"(95% interval {_signed_ms(low)} to {_signed_ms(high)}), the pairs agreeing "
            f"(sign test, p ≤ {SIGNIFICANCE:g}) and past the {_ms(delta.threshold_ms)} floor "
            f"and {pct}"
        )
    if delta.noise_judged:
        p = delta.p_value or 0.0
        chance = "p<0.001" if p < 0.001 else f"p={p:.2g}"
        return f"past the noise (±{_ms(delta.threshold_ms)}, {chance}) and {pct}"
    return f"past the {_ms(delta.threshold_ms)} floor and {pct} (no samples to judge noise)"


def _regression_findings(
    baseline: AnalyzeResult,
    result: AnalyzeResult,
    budgets: Budgets,
    init: Delta,
    changes: Sequence[DependencyChange],
) -> list[Finding]:
    findings = []
    if init.verdict == "grew":
        movers = sorted(
            (c for c in changes if c.self_ms.change > 0), key=lambda c: -c.self_ms.change
        )[:3]
        named = ", ".join(
            f"{c.name} {_signed_ms(c.self_ms.change)}" + (" (new)" if c.status == "new" else "")
            for c in movers
        )
        findings.append(
            Finding(
                RULE_INIT_REGRESSION,
                "init",
                f"init grew {_ms(init.before)} → {_ms(init.after)} ({_signed_ms(init.change)}"
                + (f", {init.pct:+.0f}%" if init.pct is not None else "")
                + f"), {_noise_words(init, budgets)}"
                + (f"; the most self time: {named}" if named else ""),
                init.after,
                init.threshold_ms,
                init.before,
            )
        )
    culprits = []
    # A new dependency that came with another new one is listed under it: the cause, not
    # each consequence (numpy under pandas).
    consequences: dict[str, list[DependencyChange]] = defaultdict(list)
    for change in changes:
        if change.pulled_in_by is not None:
            consequences[change.pulled_in_by].append(change)
    for change in changes:
        if change.status == "new" and change.pulled_in_by is not None:
            continue
        if change.status == "new" and change.inclusive_ms.verdict == "grew":
            version = f" {change.version_after}" if change.version_after else ""
            weight = (
                f", {_mb(change.unzipped_bytes_after)} unzipped"
                if change.unzipped_bytes_after
                else ""
            )
            came = sorted(consequences.get(change.name, ()), key=lambda c: -c.inclusive_ms.after)
            brought = ", ".join(
                f"{c.name}"
                + (f" {c.version_after}" if c.version_after else "")
                + f" ({_ms(c.inclusive_ms.after)} inclusive)"
                for c in came
            )
            culprits.append(
                Finding(
                    RULE_NEW_DEPENDENCY,
                    change.name,
                    f"{change.name}{version} is new at init: {_ms(change.inclusive_ms.after)} "
                    f"inclusive (self {_ms(change.self_ms.after)}, {change.modules_after} "
                    f"modules{weight})"
                    + (f"; it brings in, new too: {brought}" if brought else ""),
                    change.inclusive_ms.after,
                    change.inclusive_ms.threshold_ms,
                    0.0,
                    pulled_in=tuple(c.name for c in came),
                )
            )
        elif change.status == "grew":
            culprits.append(
                Finding(
                    RULE_DEPENDENCY_REGRESSION,
                    change.name,
                    f"{change.name} grew: {_describe_growth(change)}; "
                    f"{_noise_words(change.self_ms, budgets)}",
                    change.self_ms.after,
                    change.self_ms.threshold_ms,
                    change.self_ms.before,
                )
            )
    culprits.sort(key=lambda f: -(f.measured - (f.baseline or 0.0)))
    findings += culprits
    old_zip, new_zip = baseline.package.zipped_bytes, result.package.zipped_bytes
    growth = new_zip - old_zip
    if (
        old_zip > 0
        and growth > MIN_PACKAGE_GROWTH_BYTES
        and growth / old_zip * 100 > budgets.max_regression_pct
    ):
        # A dependency new at init may have been in the package before, imported later: say so
        # rather than count all of it as growth.
        grown = sorted(
            (c for c in changes if c.zipped_bytes_after > c.zipped_bytes_before),
            key=lambda c: -(c.zipped_bytes_after - c.zipped_bytes_before),
        )[:3]
        named = ", ".join(
            f"{c.name} {_mb(c.zipped_bytes_after)} (new at init)"
            if c.status == "new"
            else f"{c.name} {_signed_mb(c.zipped_bytes_after - c.zipped_bytes_before)}"
            for c in grown
        )
        findings.append(
            Finding(
                RULE_PACKAGE_REGRESSION,
                "package",
                f"the package grew {_mb(old_zip)} → {_mb(new_zip)} zipped "
                f"({_signed_mb(growth)}, {growth / old_zip * 100:+.0f}%)"
                + (f"; the most: {named}" if named else ""),
                round(new_zip / MB, 3),
                None,
                round(old_zip / MB, 3),
                unit="MB",
            )
        )
    return findings


def _improvement_notes(init: Delta, changes: Sequence[DependencyChange]) -> list[str]:
    notes = []
    if init.verdict == "shrank":
        notes.append(
            f"init improved {_ms(init.before)} → {_ms(init.after)} ({_signed_ms(init.change)})"
        )
    elif init.verdict == "same" and init.ci95 is not None:
        notes.append(
            f"init {_ms(init.before)} → {_ms(init.after)}: run by run {_signed_ms(init.change)} "
            f"(95% interval {_signed_ms(init.ci95[0])} to {_signed_ms(init.ci95[1])}), not a "
            f"change past the {_ms(init.threshold_ms)} floor and the percentage"
        )
    elif init.verdict == "same" and init.change > 0:
        notes.append(
            f"init {_ms(init.before)} → {_ms(init.after)} ({_signed_ms(init.change)}) is within "
            f"the noise (±{_ms(init.threshold_ms)}) or under the percentage"
        )
    for change in changes:
        if change.status == "removed" and change.inclusive_ms.before > 0:
            notes.append(
                f"{change.name} is no longer imported at init "
                f"(it cost {_ms(change.inclusive_ms.before)} inclusive)"
            )
        elif change.status == "shrank":
            notes.append(
                f"{change.name} shrank: self {_ms(change.self_ms.before)} → "
                f"{_ms(change.self_ms.after)} ({_signed_ms(change.self_ms.change)})"
            )
        elif change.status == "same" and change.inclusive_ms.verdict == "grew":
            notes.append(
                f"{change.name}: inclusive {_ms(change.inclusive_ms.before)} → "
                f"{_ms(change.inclusive_ms.after)}, from what it imports (its own time held)"
            )
        elif (
            change.status == "new"
            and change.inclusive_ms.verdict != "grew"
            and change.pulled_in_by is None  # already listed under the finding that brought it
        ):
            notes.append(
                f"{change.name} is new at init but costs only {_ms(change.inclusive_ms.after)}"
            )
    return notes
