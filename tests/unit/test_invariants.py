"""Tests for coldprof.measure.invariants: each check fails when it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.measure.distributions import FUNCTION, Attribution
from coldprof.measure.invariants import RunAttribution, violations
from conftest import install_distribution
from factories import dependency as dep


@pytest.fixture
def attribution(tmp_path: Path) -> Attribution:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text("")
    install_distribution(root, "slowdep", {"slowdep/__init__.py": ""})
    (tmp_path / "runtime").mkdir()
    return Attribution(root, [], tmp_path / "runtime")


def test_a_consistent_result_breaks_nothing(attribution: Attribution) -> None:
    costs = [dep("slowdep", [10.0]), dep(FUNCTION, [2.0], kind="function")]
    runs = [RunAttribution({"slowdep": {"slowdep"}, FUNCTION: {"app"}}, 12.0)]
    assert violations(costs, runs, attribution, function_files={"app.py"}) == ()


def test_inclusive_below_self_is_reported(attribution: Attribution) -> None:
    costs = [dep("slowdep", [10.0], inclusive_samples=[9.0])]
    runs = [RunAttribution({"slowdep": {"slowdep"}}, 10.0)]
    assert violations(costs, runs, attribution) == ("slowdep: inclusive 9.0 ms < self 10.0 ms",)


def test_a_module_in_two_dependencies_is_reported(attribution: Attribution) -> None:
    costs = [dep("slowdep", [5.0, 5.0]), dep("other", [5.0, 5.0])]
    runs = [
        RunAttribution({"slowdep": {"slowdep", "shared"}, "other": set()}, 10.0),
        RunAttribution({"slowdep": {"slowdep"}, "other": {"shared"}}, 10.0),
    ]
    (problem,) = violations(costs, runs, attribution)
    assert problem == "module shared attributed to 2 dependencies: other, slowdep"


def test_an_installed_module_counted_as_the_functions_is_reported(
    attribution: Attribution,
) -> None:
    root = attribution.task_root
    (root / "vendored.py").write_text("")  # pip put it there: not one of the function's files
    costs = [dep(FUNCTION, [3.0], kind="function")]
    runs = [RunAttribution({FUNCTION: {"app", "slowdep", "vendored"}}, 3.0)]
    found = violations(costs, runs, attribution, function_files={"app.py"})
    assert len(found) == 2, found
    assert "module slowdep" in found[0] and "slowdep is installed" in found[0]
    assert "module vendored" in found[1] and "pip installed it" in found[1]


def test_self_times_that_do_not_add_up_are_reported_per_run(attribution: Attribution) -> None:
    costs = [dep("slowdep", [10.0, 10.0])]
    ok = RunAttribution({"slowdep": {"slowdep"}}, 10.5)
    off = RunAttribution({"slowdep": {"slowdep"}}, 12.0)
    assert violations(costs, [ok, ok], attribution) == ()
    (problem,) = violations(costs, [ok, off], attribution)
    assert problem.startswith("run 2: the dependencies' self times add up to 10.0 ms")
