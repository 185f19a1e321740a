"""Tests for coldprof.measure.runcount: when --runs N and --runs auto stop, and what they say."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from coldprof.measure.request import AnalyzeRequest
from coldprof.measure.runcount import AUTO_MIN_RUNS, done_after, run_count_done, stop_reason


def request(**changes: object) -> AnalyzeRequest:
    return replace(AnalyzeRequest(path=Path("fn")), **changes)


def test_a_fixed_count_stops_at_that_count_and_says_nothing() -> None:
    assert run_count_done([100.0] * 9, request(runs=10)) == (False, None)
    assert run_count_done([100.0] * 10, request(runs=10)) == (True, None)


def test_auto_stops_once_the_median_is_known_within_5_percent() -> None:
    steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2]
    done, why = run_count_done(steady, request(runs=3, auto_runs=True))
    assert done
    assert why is not None and why.startswith("the init median's 95 % interval reached ±")
    assert why.endswith(f"after {len(steady)} runs")


def test_auto_runs_at_least_the_fewest_runs_an_interval_needs() -> None:
    steady = [100.0] * (AUTO_MIN_RUNS - 1)
    assert run_count_done(steady, request(runs=1, auto_runs=True)) == (False, None)


def test_auto_stops_at_max_runs_saying_how_far_it_got() -> None:
    noisy = [100.0, 300.0, 50.0, 250.0, 80.0, 400.0, 60.0, 200.0]
    done, why = run_count_done(noisy, request(runs=3, auto_runs=True, max_runs=8))
    assert done
    assert why is not None
    assert why.startswith("--max-runs 8 reached with the init median's 95 % interval at ±")
    assert why.endswith("(the goal: ±5 %)")
    assert run_count_done(noisy[:7], request(runs=3, auto_runs=True, max_runs=8)) == (False, None)


def test_the_paired_wording() -> None:
    assert stop_reason(12, 0.031, False, "paired difference", " of the base's init", "pairs") == (
        "the paired difference's 95 % interval reached ±3.1 % of the base's init after 12 pairs"
    )
    assert stop_reason(30, None, True, "init median") == (
        "--max-runs 30 reached with the init median's 95 % interval at ? (the goal: ±5 %)"
    )


def test_the_precision_is_only_computed_under_auto() -> None:
    def never() -> float | None:
        raise AssertionError("not under --runs 10")

    assert done_after(10, never, request(runs=10)) == (True, None)
