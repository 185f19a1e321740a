"""coldprof's own failures: exit 4, one line naming the saved traceback, for every command.

Each test runs the real CLI in a subprocess with one deep internal function replaced by one
that raises, as a coldprof bug would (the namespace-portion KeyError of issue 11). The path
under test is the error boundary, not the function replaced.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coldprof.errors import EXIT_INTERNAL
from factories import dependency, result

_RUN_WITH_BUG = """
import importlib, sys
module_name, attribute = sys.argv[1].split(":")
owner = importlib.import_module(module_name)
*path, name = attribute.split(".")
for part in path:
    owner = getattr(owner, part)
def broken(*args, **kwargs):
    raise KeyError("flask")
setattr(owner, name, broken)
from coldprof.cli.app import main
sys.argv = ["coldprof", *sys.argv[2:]]
main()
"""


def run_with_bug(
    target: str, *args: str, cache: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLDPROF_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", _RUN_WITH_BUG, target, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    return root


@pytest.fixture
def saved_result(tmp_path: Path) -> Path:
    path = tmp_path / "analyze.json"
    path.write_text(json.dumps(result([dependency("dep", [10.0, 11.0])], [50.0, 51.0]).to_dict()))
    return path


COMMANDS = {
    "analyze": ("coldprof.runner.interpreter:runtime_dir_for", ["analyze", "{fn}", "--runs", "1"]),
    # Exit 1 would tell CI "findings" and block a merge over coldprof's own bug.
    "audit": ("coldprof.runner.interpreter:runtime_dir_for", ["audit", "{fn}", "--runs", "1"]),
    "report": ("coldprof.render:render", ["report", "{saved}"]),
    "remote": ("coldprof.remote.sweep:sweep", ["remote", "{fn}", "--local", "--samples", "1"]),
    "emulator": ("coldprof.emulator.server:LocalLambda.start", ["emulator", "--port", "0"]),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_internal_error_exits_4_with_one_line_and_a_saved_traceback(
    command: str, function_dir: Path, saved_result: Path, tmp_path: Path
) -> None:
    target, args = COMMANDS[command]
    argv = [a.format(fn=function_dir, saved=saved_result) for a in args]
    done = run_with_bug(target, *argv, cache=tmp_path / "cache")
    assert done.returncode == EXIT_INTERNAL, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("coldprof: internal error: KeyError: 'flask'")
    assert "Traceback" not in done.stderr
    saved = Path(re.search(r"traceback saved to (\S+)", lines[0])[1])
    assert saved.parent == tmp_path / "cache" / "crashes"
    report = saved.read_text()
    assert "Traceback (most recent call last)" in report
    assert "KeyError: 'flask'" in report
    assert f"command: coldprof {command}" in report


def test_debug_prints_the_traceback_and_saves_nothing(function_dir: Path, tmp_path: Path) -> None:
    done = run_with_bug(
        "coldprof.runner.interpreter:runtime_dir_for",
        "--debug",
        "analyze",
        str(function_dir),
        cache=tmp_path / "cache",
    )
    assert done.returncode == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in done.stderr
    assert "in broken" in done.stderr  # down to the frame that raised
    assert done.stderr.strip().splitlines()[-1].startswith("coldprof: internal error: KeyError")
    assert not (tmp_path / "cache" / "crashes").exists()


def test_the_saved_report_never_holds_env_values(function_dir: Path, tmp_path: Path) -> None:
    done = run_with_bug(
        "coldprof.runner.interpreter:runtime_dir_for",
        "analyze",
        str(function_dir),
        "--env",
        "DB_PASSWORD=hunter2",
        "--env=API_KEY=sk-live-123",
        cache=tmp_path / "cache",
    )
    assert done.returncode == EXIT_INTERNAL
    (saved,) = (tmp_path / "cache" / "crashes").iterdir()
    report = saved.read_text()
    assert "DB_PASSWORD" in report and "API_KEY" in report
    assert "hunter2" not in report and "sk-live-123" not in report


def test_reports_are_kept_to_the_newest_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coldprof.cli import crash

    monkeypatch.setenv("COLDPROF_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "crashes"
    folder.mkdir()
    for n in range(crash.KEEP_REPORTS + 5):
        old = folder / f"crash-old-{n:02d}.txt"
        old.write_text("old")
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
    newest = crash.save_report("now")
    assert newest is not None and newest.read_text() == "now"
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == crash.KEEP_REPORTS
    assert "crash-old-00.txt" not in kept and newest.name in kept
