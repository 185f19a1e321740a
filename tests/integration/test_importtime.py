"""Tests for coldprof.measure.importtime against a live interpreter's ``-X importtime`` output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from coldprof.measure.importtime import ImportNode, ImportTrace, parse


def root(trace: ImportTrace, module: str) -> ImportNode:
    matches = [node for node in trace.roots if node.module == module]
    assert len(matches) == 1, [node.module for node in trace.roots]
    return matches[0]


def child_names(node: ImportNode) -> list[str]:
    return [child.module for child in node.children]


def run_importtime(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_live_subprocess_stderr(tmp_path: Path) -> None:
    package = tmp_path / "livepkg"
    package.mkdir()
    (package / "__init__.py").write_text("from livepkg import first, second\n")
    (package / "first.py").write_text("from livepkg import deep\n")
    (package / "deep.py").write_text("")
    (package / "second.py").write_text("import livepkg.deep\n")  # already loaded: no row

    result = run_importtime("import livepkg; print('ok')", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    trace = parse(result.stderr)

    assert trace.skipped == ()
    livepkg = root(trace, "livepkg")
    assert child_names(livepkg) == ["livepkg.first", "livepkg.second"]
    assert child_names(livepkg.children[0]) == ["livepkg.deep"]
    assert livepkg.children[1].children == ()
    assert trace.modules()["livepkg.deep"].depth == 2
    assert "site" in trace.modules()  # interpreter start-up is in the stream too
