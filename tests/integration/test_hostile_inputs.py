"""Saved results, baselines, events and caches that are wrong in every way: exit 2, one line."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from coldprof.render.result_json import render as render_json
from conftest import coldprof_cmd
from factories import dependency, result

HANDLER = "def lambda_handler(event, context):\n    return 1\n"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd(*args),
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def _usage_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("coldprof: error")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def _saved(tmp_path: Path) -> dict:
    made = result(
        [dependency("numpy", [80.0, 82.0, 81.0])],
        [300.0, 310.0, 305.0],
        python=platform.python_version(),
        platform=sys.platform,
        architecture=platform.machine(),
    )
    return json.loads(render_json(made))


def _write(tmp_path: Path, data: object, name: str = "saved.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))  # json.dumps writes NaN and Infinity as bare words
    return path


def test_a_baseline_whose_init_median_is_nan_is_refused(tmp_path: Path) -> None:
    """NaN compares false with everything: such a baseline passed every audit."""
    baseline = _saved(tmp_path)
    baseline["init_ms"]["median"] = float("nan")
    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "app.py").write_text(HANDLER)
    done = _run("audit", str(fn), "--baseline", str(_write(tmp_path, baseline)), "--runs", "1")
    assert "NaN" in _usage_error(done)


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), "1e999"])
def test_infinite_numbers_in_a_report_are_refused(tmp_path: Path, bad: object) -> None:
    saved = _saved(tmp_path)
    saved["init_ms"]["p90"] = bad
    path = _write(tmp_path, saved)
    if bad == "1e999":  # a number too large for a float, as written by some other tool
        path.write_text(path.read_text().replace('"1e999"', "1e999"))
    _usage_error(_run("report", str(path)))


def test_json_nested_3000_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"kind": "analyze", "x": ' + "[" * 3000 + "]" * 3000 + "}")
    assert "deep" in _usage_error(_run("report", str(path)))
    shallower = tmp_path / "deep-but-parsable.json"
    shallower.write_text('{"kind": "analyze", "x": ' + "[" * 500 + "]" * 500 + "}")
    assert "nested 501 deep" in _usage_error(_run("report", str(shallower)))


@pytest.mark.parametrize("version", ["1", 0, -3, True, 99, None])
def test_a_wrong_schema_version_is_refused(tmp_path: Path, version: object) -> None:
    saved = _saved(tmp_path)
    saved["schema_version"] = version
    assert "schema" in _usage_error(_run("report", str(_write(tmp_path, saved))))


def test_the_saved_result_itself_still_reads(tmp_path: Path) -> None:
    done = _run("report", str(_write(tmp_path, _saved(tmp_path))), "--format", "json")
    assert done.returncode == 0, done.stderr


def test_an_event_nested_too_deep_is_a_usage_error(tmp_path: Path) -> None:
    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "app.py").write_text(HANDLER)
    event = tmp_path / "event.json"
    event.write_text("[" * 100_000 + "]" * 100_000)
    _usage_error(_run("analyze", str(fn), "--event", str(event), "--runs", "1"))


def test_a_cache_that_cannot_be_written_falls_back_before_measuring(tmp_path: Path) -> None:
    """Checked by writing, not by permission bits: these tests may run as root."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "app.py").write_text(HANDLER)
    (fn / "requirements.txt").write_text("")
    done = _run(
        "analyze",
        str(fn),
        "--runs",
        "2",
        "--bytecode-runs",
        "1",
        "--format",
        "json",
        env={"COLDPROF_CACHE_DIR": str(blocker / "cache")},
    )
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)
    assert saved["runs"] == 2
    notes = [w for w in saved["package"]["warnings"] if "cannot be written" in w]
    assert len(notes) == 1 and "temporary cache" in notes[0]
