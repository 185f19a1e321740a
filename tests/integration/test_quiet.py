"""-q/--quiet: nothing on stdout or stderr but errors; the --output file is still written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import SAMPLES, coldprof_cmd


@pytest.mark.parametrize("command", ["analyze", "audit"])
def test_quiet_with_output_prints_nothing(command: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = subprocess.run(
        coldprof_cmd(command, str(SAMPLES / "minimal"), "--runs", "2", "-q", "-o", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    saved = json.loads(out.read_text())
    assert saved["kind"] == command and saved["schema_version"] >= 1


def test_quiet_still_reports_errors(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "raise RuntimeError('broken at init')\n\ndef handler(e, c):\n    pass\n"
    )
    done = subprocess.run(
        coldprof_cmd("analyze", str(tmp_path), "--handler", "app.handler", "--runs", "1", "-q"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert "broken at init" in done.stderr and "coldprof: error:" in done.stderr
