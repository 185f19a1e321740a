"""Whether a change stands out of the runs' noise: one pair of sides, or runs taken in pairs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from coldprof import stats
from coldprof.audit.handler import runtime_only
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import Budgets, Delta, Drift

# A change must clear this many standard errors of the difference of two medians. Three keeps a
# CI gate quiet on an unlucky run without hiding a real regression of a few ms at 10 runs.
NOISE_Z = 3.0
# A change must also be one the runs agree on: a one-sided rank test at this level.
SIGNIFICANCE = 0.01
# The most a machine's speed is allowed to explain, either way.
MAX_DRIFT = 4.0


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
        noise = NOISE_Z * math.hypot(
            stats.median_standard_error(before_samples), stats.median_standard_error(after_samples)
        )
        alpha = max(
            SIGNIFICANCE, stats.smallest_p(len(before_samples), len(after_samples))
        )
        lower, higher = (
            (before_samples, after_samples) if upward else (after_samples, before_samples)
        )
        p_value = stats.rank_test_p(lower, higher)
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
        SIGNIFICANCE,
        stats.smallest_p(len(then.inclusive_ms_samples), len(now.inclusive_ms_samples)),
    )
    slower = stats.rank_test_p(then.inclusive_ms_samples, now.inclusive_ms_samples) <= alpha + 1e-12
    faster = stats.rank_test_p(now.inclusive_ms_samples, then.inclusive_ms_samples) <= alpha + 1e-12
    if not (slower or faster) or abs(factor - 1) < 0.05:
        return None
    factor = min(max(factor, 1 / MAX_DRIFT), MAX_DRIFT)
    return Drift(round(factor, 3), now.name, then.inclusive_ms, now.inclusive_ms)
