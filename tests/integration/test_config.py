"""config: [tool.coldprof] from the nearest pyproject.toml above a function; flags win."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from coldprof import config
from coldprof.errors import UsageError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_the_nearest_pyproject_with_a_coldprof_table_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.coldprof]\nmax-init-ms = 500\n")
    write(tmp_path / "svc" / "pyproject.toml", "[tool.coldprof]\nmax_init_ms = 250\nruns = 4\n")
    # A pyproject without the table (the function's own packaging) is passed over.
    write(tmp_path / "svc" / "fn" / "pyproject.toml", "[project]\nname = 'fn'\n")
    handler = write(tmp_path / "svc" / "fn" / "app.py", "def handler(e, c): pass\n")
    found = config.load(handler)
    assert found.path == tmp_path / "svc" / "pyproject.toml"
    assert found.get("max-init-ms") == 250 and found.get("runs") == 4


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.coldprof]\nmax-package-mb = 40\n")
    found = config.load(tmp_path)
    assert config.pick(None, found, "max-package-mb") == 40
    assert config.pick(12.5, found, "max-package-mb") == 12.5
    assert config.pick(None, found, "max-init-ms", 7) == 7


def test_baseline_is_relative_to_its_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.coldprof]\nbaseline = "ci/baseline.json"\n')
    (tmp_path / "fn").mkdir()
    assert config.load(tmp_path / "fn").path_setting("baseline") == tmp_path / "ci/baseline.json"


def test_no_pyproject_is_an_empty_config(tmp_path: Path) -> None:
    assert config.load(tmp_path).values == {}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('max-init-ms = "fast"', "max-init-ms must be a number"),
        ("max-init-ms = true", "max-init-ms must be a number"),
        ("runs = 2.5", "runs must be int"),
        ("max-package-mb = -1", "must not be negative"),
        ("max-init-ms = = 3", "not valid TOML"),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_the_file(
    tmp_path: Path, body: str, words: str
) -> None:
    path = write(tmp_path / "pyproject.toml", f"[tool.coldprof]\n{body}\n")
    with pytest.raises(UsageError, match=words) as caught:
        config.load(tmp_path)
    assert str(path) in caught.value.message


def test_an_unknown_key_is_a_warning_not_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.coldprof]\nmax-init-mss = 3\n")
    found = config.load(tmp_path)
    assert found.values == {} and "max-init-mss is not a known setting" in found.warnings[0]


def test_without_a_toml_parser_the_table_is_ignored_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.10 has no tomllib: without tomli, say so and go on with flags alone."""
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    write(tmp_path / "pyproject.toml", "[tool.coldprof]\nmax-init-ms = 3\n")
    found = config.load(tmp_path)
    assert found.values == {}
    assert "no TOML parser" in found.warnings[0] and "tomli" in found.warnings[0]


def test_fail_on_deferrable_ms_is_read_by_audit(tmp_path: Path) -> None:
    import subprocess

    from conftest import coldprof_cmd

    write(tmp_path / "pyproject.toml", "[tool.coldprof]\nfail-on-deferrable-ms = 20\n")
    write(tmp_path / "fn" / "app.py", "def lambda_handler(e, c):\n    return 1\n")
    assert config.load(tmp_path / "fn").get("fail-on-deferrable-ms") == 20
    # Set in the file, it asks for events just as the flag does (before any cold start runs).
    done = subprocess.run(
        coldprof_cmd("audit", str(tmp_path / "fn")), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--fail-on-deferrable-ms needs --event" in done.stderr
    assert "unknown" not in done.stderr  # the key is known, not warned about


def test_per_function_budgets_override_the_shared_ones(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.coldprof]\nmax-init-ms = 500\nmax-package-mb = 5\n\n"
        "[tool.coldprof.functions.ReportsFunction]\nmax_init_ms = 900\n"
    )
    loaded = config.load(tmp_path)
    assert loaded.warnings == ()
    assert loaded.for_function("ReportsFunction").get("max-init-ms") == 900
    assert loaded.for_function("ReportsFunction").get("max-package-mb") == 5
    assert loaded.for_function("OrdersFunction").get("max-init-ms") == 500


def test_a_per_function_table_holds_budgets_only(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.coldprof.functions.Api]\nbaseline = 'base.json'\n"
    )
    with pytest.raises(UsageError, match=r"functions.Api\] baseline is not a per-function"):
        config.load(tmp_path)
