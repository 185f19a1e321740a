"""audit.noise: a change counts only past the runs' noise, the floor, and the machine's drift."""

from __future__ import annotations

import pytest

from coldprof.audit.core import audit
from coldprof.audit.noise import compare
from coldprof.results.audit import AuditResult, Budgets
from coldprof.stats import rank_test_p
from factories import dependency, result

INIT = [100.0, 102.0, 98.0, 101.0, 99.0]


def rules(audited: AuditResult) -> list[tuple[str, str]]:
    return [(f.rule, f.subject) for f in audited.findings]


def test_a_change_within_the_runs_spread_is_not_a_regression() -> None:
    noisy_before = [30.0, 45.0, 20.0, 50.0, 35.0]  # median 35, MAD 10
    noisy_after = [44.0, 60.0, 30.0, 65.0, 43.0]  # median 44: +9 ms, +26 %
    delta = compare(35.0, 44.0, noisy_before, noisy_after, Budgets())
    assert delta.verdict == "same" and delta.noise_judged
    assert delta.threshold_ms > 9.0
    # The same medians from tight runs are a real change.
    tight = compare(35.0, 44.0, [35.0, 35.5, 34.5, 35, 35], [44.0, 44.5, 43.5, 44, 44], Budgets())
    assert tight.verdict == "grew"


def test_one_slow_run_does_not_make_a_regression() -> None:
    before = result([dependency("slowdep", [20.0, 20.5, 19.5, 20.0, 20.2])], INIT)
    after = result(
        [dependency("slowdep", [20.1, 20.4, 19.8, 20.0, 95.0])], [100, 101, 99, 100, 240]
    )
    assert audit(after, Budgets(), before).ok


def test_three_runs_whose_spread_collapses_by_chance_are_not_a_regression() -> None:
    """Seen on a loaded 2-core machine: the same botocore, measured twice with --runs 3."""
    before, after = [64.988, 107.379, 61.075], [82.004, 56.366, 82.079]
    delta = compare(64.988, 82.004, before, after, Budgets())
    # +17 ms, +26 %, and the MAD of the second set is 0.07 ms: the size test alone would fire.
    assert delta.change > delta.threshold_ms
    assert delta.verdict == "same" and delta.p_value is not None and delta.p_value > 0.5


def test_the_rank_test_is_exact_for_few_runs() -> None:
    assert rank_test_p([1, 2, 3], [4, 5, 6]) == pytest.approx(1 / 20)  # complete separation
    assert rank_test_p([4, 5, 6], [1, 2, 3]) == pytest.approx(1.0)
    assert rank_test_p(list(range(10)), list(range(10, 20))) == pytest.approx(1 / 184756)
    assert rank_test_p([1.0] * 4, [1.0] * 4) == pytest.approx(0.5, abs=0.15)
    assert 0 < rank_test_p(list(range(30)), list(range(15, 45))) < 1e-3  # normal approximation


def test_a_machine_running_slower_is_not_a_regression_of_the_function() -> None:
    """A shared CI runner can run the audit at half the baseline's pace: the runtime's own
    imports, the same code in both runs, show it, and the baseline is judged at that pace."""
    pace = [20.0, 20.5, 19.5, 20.2, 19.8]
    slowdep = dependency("slowdep", [30.0, 30.5, 29.5, 30.2, 29.8])
    before = result([slowdep], INIT, runtime_samples=pace)
    twice = [2 * p for p in pace]
    slow_machine = result(
        [dependency("slowdep", [60.0, 61, 59, 60.4, 59.6])],
        [2 * i for i in INIT],
        runtime_samples=twice,
    )
    audited = audit(slow_machine, Budgets(), before)
    assert audited.ok, [f.message for f in audited.findings]
    assert audited.drift is not None and audited.drift.factor == pytest.approx(2.0, rel=0.02)
    assert any("2.00× as slowly" in note for note in audited.notes)
    # A faster machine never turns a steady dependency into a regression.
    fast_machine = result([slowdep], INIT, runtime_samples=[p / 2 for p in pace])
    fast = audit(fast_machine, Budgets(), before)
    assert fast.ok and fast.drift is not None and fast.drift.factor < 1
    # A real regression still shows through the slower machine: 30 ms → 120 ms at twice the pace.
    regressed = result(
        [dependency("slowdep", [120.0, 121, 119, 120.4, 119.6])],
        [2 * i + 60 for i in INIT],
        runtime_samples=twice,
    )
    assert ("dependency-regression", "slowdep") in rules(audit(regressed, Budgets(), before))
    # The runtime's own imports grew too, and are nobody's culprit.
    assert not any(
        f.subject == "awslambdaric" for f in audit(regressed, Budgets(), before).findings
    )


def test_small_changes_under_the_floor_or_percentage_are_not_regressions() -> None:
    budgets = Budgets(max_regression_pct=10, min_regression_ms=5)
    # +3 ms on tight runs: under the 5 ms floor.
    assert compare(10.0, 13.0, [10.0] * 5, [13.0] * 5, budgets).verdict == "same"
    # +8 ms on 200 ms: past the floor but only 4 %.
    assert compare(200.0, 208.0, [200.0] * 5, [208.0] * 5, budgets).verdict == "same"
    # Without per-run samples (an old baseline) the floor decides, and the result says so.
    old = compare(10.0, 30.0, [], [30.0] * 5, budgets)
    assert old.verdict == "grew" and not old.noise_judged
