"""Pure figures of a sweep: each tier's medians and costs, the tier to recommend, correlation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from coldprof import stats
from coldprof.lambda_facts import PRICE_PER_GB_SECOND_USD
from coldprof.pricing import cost_per_million_usd, init_is_billed
from coldprof.results.remote import (
    Correlation,
    FunctionResult,
    InvokeFailure,
    Relation,
    Sample,
    TierResult,
)

if TYPE_CHECKING:
    from coldprof.aws.lambda_api import FunctionSnapshot

# A tier is recommended when its cold penalty is within this fraction of the best tier's.
PENALTY_TOLERANCE = 0.10
# Correlations over fewer points than this carry a caveat.
FIRM_N = 10
FIRM_DISTINCT_X = 4
MIB = 1024 * 1024
PACKAGE_UNIT_BYTES = 100 * MIB


# -- tiers and the recommendation ----------------------------------------------------------------
def tier_result(
    snapshot: FunctionSnapshot,
    memory_mb: int,
    cold: Sequence[Sample],
    warm: Sequence[Sample],
    failures: Sequence[InvokeFailure],
    notes: Sequence[str],
    retried: Sequence[Sample] = (),
    error: str | None = None,
) -> TierResult:
    """One tier's figures from its samples: init median and p90, the cold penalty, the costs."""
    architecture = (
        snapshot.architecture if snapshot.architecture in PRICE_PER_GB_SECOND_USD else "x86_64"
    )
    startups = [s.startup_ms for s in cold]
    warm_median = stats.median(s.duration_ms for s in warm) if warm else None
    penalty = None
    if cold and warm_median is not None:
        penalty = stats.median(s.startup_ms + s.duration_ms for s in cold) - warm_median
    retried_penalty = None
    if retried and warm_median is not None:
        retried_penalty = stats.median(s.retried_wait_ms for s in retried) - warm_median
    cost_cold = None
    if cold:
        cost_cold = stats.median(
            cost_per_million_usd(
                s.billed_ms + (s.billed_restore_ms or 0.0),
                memory_mb,
                architecture,
                init_billed_ms=init_charge_ms(s, snapshot.package_type),
            )
            for s in cold
        )
    cost_warm = None
    if warm:
        cost_warm = cost_per_million_usd(
            stats.median(s.billed_ms for s in warm), memory_mb, architecture
        )
    return TierResult(
        memory_mb=memory_mb,
        cold=tuple(cold),
        warm=tuple(warm),
        init_median_ms=_round(stats.median(startups)) if startups else None,
        init_p90_ms=_round(stats.percentile(startups, 90)) if startups else None,
        warm_median_ms=_round(warm_median),
        cold_penalty_ms=_round(penalty),
        cost_cold_usd_per_million=_round(cost_cold, 4),
        cost_warm_usd_per_million=_round(cost_warm, 4),
        failures=tuple(failures),
        error=error,
        notes=tuple(dict.fromkeys(notes)),
        retried=tuple(retried),
        retried_penalty_ms=_round(retried_penalty),
    )


def init_charge_ms(sample: Sample, package_type: str = "Zip") -> float:
    """The init time to bill on top of a cold sample's Billed Duration, in whole ms.

    Since 2025-08-01 Lambda bills INIT for on-demand zip functions, and REPORT lines from then on
    already fold it into Billed Duration (Duration 12.68 + Init 295.33 → Billed 309). Charging it
    again would count it twice, so INIT is added only when Billed Duration visibly leaves it out
    (older lines, and emulators that print the pre-2025 format) and `init_is_billed` says
    Lambda charges it.
    """
    if sample.init_ms is None:
        return 0.0
    if sample.billed_ms + 1 >= sample.duration_ms + sample.init_ms:
        return 0.0  # already billed
    package = "Image" if package_type.lower() == "image" else "Zip"
    return float(math.ceil(sample.init_ms)) if init_is_billed(package) else 0.0


def recommend_tier(tiers: Sequence[TierResult]) -> tuple[int | None, str | None]:
    """The cheapest tier whose cold penalty is within PENALTY_TOLERANCE of the best one.

    "Cheapest" is the cost per million warm invocations (cold ones where no warm were taken):
    most invocations are warm, so that is what a memory size costs day to day.
    """
    # Only tiers where every run worked: a tier that failed even once (or whose init had to be
    # retried) is not one to move a function to.
    measured = [
        t for t in tiers if t.cold_penalty_ms is not None and not t.failures and not t.retried
    ]
    if not measured:
        return None, None
    best = min(measured, key=lambda t: (t.cold_penalty_ms or 0.0, t.memory_mb))
    best_penalty = best.cold_penalty_ms or 0.0
    limit = best_penalty + PENALTY_TOLERANCE * abs(best_penalty)
    candidates = [t for t in measured if (t.cold_penalty_ms or 0.0) <= limit]

    def cost(tier: TierResult) -> float:
        value = tier.cost_warm_usd_per_million
        if value is None:
            value = tier.cost_cold_usd_per_million
        return value if value is not None else math.inf

    chosen = min(candidates, key=lambda t: (cost(t), t.memory_mb))
    reason = (
        f"{chosen.memory_mb} MB: the cheapest tier whose cold penalty "
        f"({chosen.cold_penalty_ms:,.0f} ms) is within {PENALTY_TOLERANCE:.0%} of the best "
        f"({best_penalty:,.0f} ms at {best.memory_mb} MB)"
    )
    return chosen.memory_mb, reason


# -- correlation ---------------------------------------------------------------------------------
def correlate(functions: Sequence[FunctionResult]) -> Correlation:
    """Init Duration and the cold penalty against memory (within each function) and against
    package size (within each memory tier).

    Comparing within groups keeps the two from confounding each other: across functions, a
    bigger package would otherwise pass for a memory effect when tiers differ, and vice versa.
    Slopes are pooled least squares on the within-group deviations; Spearman is computed on the
    same deviations.
    """
    use_unzipped = bool(functions) and all(f.package_unzipped_bytes is not None for f in functions)
    measure = "unzipped" if use_unzipped else "code_size"

    def size_of(function: FunctionResult) -> float:
        size = function.package_unzipped_bytes if use_unzipped else function.code_size_bytes
        return float(size or 0) / PACKAGE_UNIT_BYTES

    init_memory: list[tuple[str, float, float]] = []
    penalty_memory: list[tuple[str, float, float]] = []
    init_size: list[tuple[str, float, float]] = []
    penalty_size: list[tuple[str, float, float]] = []
    for function in functions:
        for tier in function.tiers:
            memory_x = math.log2(tier.memory_mb)
            tier_key = str(tier.memory_mb)
            if tier.init_median_ms is not None:
                init_memory.append((function.arn, memory_x, tier.init_median_ms))
                init_size.append((tier_key, size_of(function), tier.init_median_ms))
            if tier.cold_penalty_ms is not None:
                penalty_memory.append((function.arn, memory_x, tier.cold_penalty_ms))
                penalty_size.append((tier_key, size_of(function), tier.cold_penalty_ms))
    per_doubling = "ms per doubling of memory"
    per_100mb = "ms per 100 MB of package"
    return Correlation(
        init_vs_memory=relation(
            init_memory, "memory_mb (log2)", "init_ms", per_doubling, "function"
        ),
        init_vs_package_size=relation(
            init_size, f"package_{measure}_bytes", "init_ms", per_100mb, "memory tier"
        ),
        cold_penalty_vs_memory=relation(
            penalty_memory, "memory_mb (log2)", "cold_penalty_ms", per_doubling, "function"
        ),
        cold_penalty_vs_package_size=relation(
            penalty_size, f"package_{measure}_bytes", "cold_penalty_ms", per_100mb, "memory tier"
        ),
        package_size_measure=measure,
    )


def relation(
    points: Sequence[tuple[str, float, float]],
    x_name: str,
    y_name: str,
    unit: str,
    controls_for: str,
) -> Relation:
    """Spearman and a least-squares slope of y on x, within groups.

    The slope is least squares on the deviations from each group's means (a fixed-effects
    fit). Spearman ranks x and y inside each group, centres those ranks, and correlates the
    pooled result, so each group contributes only its own ordering. Groups with one point carry
    no within-group information and are left out.
    """
    groups: dict[str, list[tuple[float, float]]] = {}
    for group, x, y in points:
        groups.setdefault(group, []).append((x, y))
    xs: list[float] = []
    ys: list[float] = []
    rank_xs: list[float] = []
    rank_ys: list[float] = []
    used = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        used += 1
        mean_x = math.fsum(x for x, _ in members) / len(members)
        mean_y = math.fsum(y for _, y in members) / len(members)
        xs.extend(x - mean_x for x, _ in members)
        ys.extend(y - mean_y for _, y in members)
        middle = (len(members) + 1) / 2
        rank_xs.extend(r - middle for r in stats.ranks([x for x, _ in members]))
        rank_ys.extend(r - middle for r in stats.ranks([y for _, y in members]))
    rho = stats.spearman(rank_xs, rank_ys) if rank_xs else None
    fit = stats.least_squares(xs, ys) if xs else None
    # Sizes 1 MB apart (0.01 of 100 MB) are the same size for this purpose; memory sizes on a
    # log2 scale are never that close.
    distinct_x = len({round(x, 2) for group, x, _y in points if len(groups[group]) >= 2})
    if distinct_x < 2:  # sizes that differ by bytes would give a slope of millions of ms
        rho, fit = None, None
    return Relation(
        x=x_name,
        y=y_name,
        slope_unit=unit,
        controls_for=controls_for,
        n=len(xs),
        groups=used,
        spearman=_round(rho, 3),
        slope=_round(fit[0]) if fit else None,
        caveat=_caveat(len(xs), used, distinct_x, controls_for, fit is None),
    )


def _caveat(n: int, groups: int, distinct_x: int, controls_for: str, no_fit: bool) -> str | None:
    if no_fit:
        if controls_for == "memory tier":
            return "not enough data: needs two or more functions of different package sizes"
        return "not enough data: needs two or more memory tiers measured on a function"
    if distinct_x < FIRM_DISTINCT_X:
        what = "package sizes" if controls_for == "memory tier" else "memory sizes"
        return f"only {distinct_x} distinct {what}: a trend through so few says little"
    if n < FIRM_N:
        return f"n={n}: too few points for a firm figure; read the sign, not the size"
    return None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
