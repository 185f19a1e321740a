"""report: re-render saved analyze, audit and remote JSON; old and partial files still load."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from coldprof.audit.core import audit
from coldprof.errors import UsageError
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import Budgets
from coldprof.results.load import load_result, result_from_dict
from conftest import coldprof_cmd
from factories import dependency, remote_dict, result

INIT = [100.0, 101.0, 99.0]


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(coldprof_cmd("report", *args), capture_output=True, text=True, timeout=60)


@pytest.fixture
def saved(tmp_path: Path) -> dict[str, Path]:
    run = result([dependency("slowdep", [60.0, 61.0, 59.0])], INIT)
    baseline = result([dependency("slowdep", [20.0, 21.0, 19.0])], INIT)
    files = {
        "analyze": run.to_dict(),
        "audit": audit(run, Budgets(max_init_ms=50), baseline).to_dict(),
        # As `coldprof remote` writes it: every field of the contract present.
        "remote": result_from_dict(remote_dict(), "remote").to_dict(),
    }
    paths = {}
    for kind, data in files.items():
        paths[kind] = tmp_path / f"{kind}.json"
        paths[kind].write_text(json.dumps(data))
    return paths


@pytest.mark.parametrize("kind", ["analyze", "audit", "remote"])
def test_json_round_trips_through_report(kind: str, saved: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "again.json"
    done = report(str(saved[kind]), "--format", "json", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == json.loads(saved[kind].read_text())


def test_report_renders_markdown_and_html_from_saved_json(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    done = report(str(saved["analyze"]), "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert "## coldprof analyze `/tmp/fn`" in done.stdout  # headed by the function's path
    assert "| slowdep" in done.stdout
    page = tmp_path / "audit.html"
    done = report(str(saved["audit"]), "--output", str(page))  # the format from the extension
    assert done.returncode == 0, done.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")
    # The terminal gets one line that sums the report up, not the table.
    assert done.stdout.startswith("coldprof audit /tmp/fn: FAIL: 2 findings;")
    assert done.stdout.count("\n") == 1 and f"wrote {page}" in done.stdout
    done = report(str(saved["remote"]))
    assert done.returncode == 0, done.stderr
    assert "demo" in done.stdout


def test_an_old_analyze_file_without_kind_or_samples_still_loads(tmp_path: Path) -> None:
    data = result([dependency("slowdep", [60.0, 61.0, 59.0])], INIT).to_dict()
    for key in ("kind", "schema_version", "platform", "architecture", "failure", "package"):
        data.pop(key)
    for dep in data["dependencies"]:
        dep.pop("self_ms_samples")
        dep.pop("inclusive_ms_samples")
    data["init_ms"].pop("samples")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    loaded = load_result(path)
    assert isinstance(loaded, AnalyzeResult)
    assert loaded.dependency("slowdep").self_ms == 60.0
    assert loaded.init_ms.median == 100.0 and loaded.init_ms.samples == ()
    done = report(str(path))
    assert done.returncode == 0, done.stderr
    assert "slowdep" in done.stdout


def test_a_partial_file_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "partial.json"
    path.write_text(json.dumps({"dependencies": [{"name": "numpy", "self_ms": 80}]}))
    loaded = load_result(path)
    assert loaded.dependency("numpy").self_ms == 80.0 and loaded.imports == ()
    partial_audit = tmp_path / "audit.json"
    partial_audit.write_text(json.dumps({"kind": "audit", "findings": []}))
    assert load_result(partial_audit).ok


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such file"),
        ("not json at all", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"hello": "world"}', "not a coldprof result"),
        ('{"kind": "weather"}', "unknown result kind 'weather'"),
        ('{"kind": "analyze", "schema_version": 99}', "newer coldprof"),
        ('{"kind": "analyze", "dependencies": [{"self_ms": 1}]}', "not a readable analyze"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: str | None, words: str) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=words):
        load_result(path)
    done = report(str(path))
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("coldprof: error:")]
    assert len(errors) == 1 and str(path) in errors[0]
    assert "Traceback" not in done.stderr
