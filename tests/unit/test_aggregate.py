"""Tests for coldprof.measure.aggregate: per-dependency times from one import trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.measure import importtime
from coldprof.measure.aggregate import dependency_runs
from coldprof.measure.distributions import FUNCTION, STDLIB, Attribution
from conftest import install_distribution


@pytest.fixture
def attribution(tmp_path: Path) -> Attribution:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text("")
    install_distribution(root, "slowdep", {"slowdep/__init__.py": ""})
    (tmp_path / "runtime").mkdir()
    return Attribution(root, [], tmp_path / "runtime")


def test_inclusive_is_the_sum_of_the_self_times_below(attribution: Attribution) -> None:
    """CPython rounds each column up on its own: three 1 µs imports under a 2 µs cumulative.
    Inclusive used to take the cumulative column, and came out below self."""
    trace = importtime.parse(
        "import time: self [us] | cumulative | imported package\n"
        "import time:         1 |          1 |   json.scanner\n"
        "import time:         1 |          1 |   json.decoder\n"
        "import time:         1 |          2 | json\n"
    )
    self_ms, inclusive_ms, modules = dependency_runs(trace, attribution)
    assert self_ms[STDLIB] == pytest.approx(0.003)
    assert inclusive_ms[STDLIB] == pytest.approx(0.003)
    assert modules[STDLIB] == {"json", "json.scanner", "json.decoder"}


def test_a_failed_import_is_charged_to_its_importer_but_is_none_of_its_modules(
    attribution: Attribution,
) -> None:
    trace = importtime.parse(
        "import time:        40 |         40 |   no_such_compressor\n"
        "import time:       100 |        140 | slowdep\n"
        "import time:        30 |         30 |   no_such_compressor\n"
        "import time:        10 |         40 | app\n"
    )
    self_ms, _, modules = dependency_runs(trace, attribution)
    assert self_ms["slowdep"] == pytest.approx(0.14)
    assert self_ms[FUNCTION] == pytest.approx(0.04)
    assert modules["slowdep"] == {"slowdep"}
    assert modules[FUNCTION] == {"app"}
