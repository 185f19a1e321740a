"""audit's policy: a flag wins; else a function's own [tool.coldprof.functions.<id>] table,
key by key; else the shared [tool.coldprof] table; else the default."""

from __future__ import annotations

from pathlib import Path

from coldprof.cli.audit import Policy
from coldprof.config import Config
from coldprof.results.audit import DEFAULT_MIN_REGRESSION_MS, DEFAULT_REGRESSION_PCT

CONFIG = Config(
    Path("pyproject.toml"),
    {"max-init-ms": 400, "fail-on-deferrable-ms": 50, "max-regression-pct": 20},
    (),
    {"Reports": {"max-init-ms": 900, "fail-on-deferrable-ms": 500}},
)


def test_a_functions_own_table_wins_over_the_shared_one_key_by_key() -> None:
    own = Policy().for_function(CONFIG, "Reports", None)
    assert own.budgets.max_init_ms == 900
    assert own.fail_on_deferrable_ms == 500  # once lost to the shared 50
    assert own.budgets.max_regression_pct == 20  # not in its table: the shared value


def test_a_function_without_a_table_gets_the_shared_settings_and_the_defaults() -> None:
    shared = Policy().for_function(CONFIG, "Orders", None)
    assert shared.budgets.max_init_ms == 400
    assert shared.fail_on_deferrable_ms == 50
    assert shared.budgets.max_package_mb is None
    assert shared.budgets.min_regression_ms == DEFAULT_MIN_REGRESSION_MS


def test_flags_win_over_every_table() -> None:
    flags = Policy(max_init_ms=300, fail_on_deferrable_ms=5)
    own = flags.for_function(CONFIG, "Reports", None)
    assert own.budgets.max_init_ms == 300
    assert own.fail_on_deferrable_ms == 5
    assert Policy().budgets(Config()).max_regression_pct == DEFAULT_REGRESSION_PCT
