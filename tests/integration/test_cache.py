"""The cache: it deletes only what coldprof made, and builds belong to one function folder each."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from coldprof.build.cache import CACHE_KEEP_DAYS, CACHE_MARKER, lock_path, prune_cache
from coldprof.build.handler import FunctionSource
from coldprof.build.package import build_package
from conftest import coldprof_cmd

HANDLER = "def lambda_handler(event, context):\n    return 1\n"


def _age(path: Path, days: float) -> None:
    when = time.time() - days * 86400
    for folder, _, files in os.walk(path):
        for name in files:
            os.utime(Path(folder, name), (when, when))
        os.utime(folder, (when, when))


def test_pruning_leaves_files_coldprof_did_not_make(tmp_path: Path) -> None:
    """COLDPROF_CACHE_DIR pointed at a folder that holds other things too."""
    cache = tmp_path / "work"
    thesis = cache / "builds" / "x" / "thesis.tex"
    thesis.parent.mkdir(parents=True)
    thesis.write_text("\\chapter{Results}")
    notes = cache / "pycache" / "notes" / "todo.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("keep me")
    ours = cache / "builds" / "fn-0123456789abcdef"
    ours.mkdir()
    (ours / CACHE_MARKER).touch()
    (ours / "function-files.txt").write_text("app.py")
    _age(cache, CACHE_KEEP_DAYS * 2)

    removed = prune_cache(cache)

    assert removed == [ours]
    assert thesis.read_text() == "\\chapter{Results}"
    assert notes.read_text() == "keep me"


def test_a_lock_keeps_the_whole_name_of_its_entry(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "v5.0.1-abcd").name == "v5.0.1-abcd.lock"
    assert lock_path(tmp_path / "501").name != lock_path(tmp_path / "5.0.1").name


def _function(root: Path, marker: str) -> FunctionSource:
    root.mkdir(parents=True)
    (root / "requirements.txt").write_text("")  # nothing to install: pip runs and is quick
    (root / "app.py").write_text(
        f"WHO = {marker!r}\n\ndef handler(event, context):\n    return 1\n"
    )
    return FunctionSource(root, "app.handler", "test")


def test_folders_of_the_same_name_get_builds_of_their_own(tmp_path: Path) -> None:
    first = _function(tmp_path / "team-a" / "fn", "a")
    second = _function(tmp_path / "team-b" / "fn", "b")
    cache = tmp_path / "cache"
    root_a = build_package(first, cache=cache)
    root_b = build_package(second, cache=cache)
    assert root_a != root_b
    assert "'a'" in (root_a / "app.py").read_text()
    assert "'b'" in (root_b / "app.py").read_text()
    assert (root_a.parent / CACHE_MARKER).is_file()


def _analyze(path: Path, cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        coldprof_cmd(
            "analyze", str(path), "--runs", "2", "--bytecode-runs", "1", "--format", "json"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLDPROF_CACHE_DIR": str(cache)},
    )


def _own_modules(result: dict) -> set[str]:
    def walk(nodes: list[dict]) -> set[str]:
        found = set()
        for node in nodes:
            if node["dependency"] == "(function)":
                found.add(node["module"])
            found |= walk(node["children"])
        return found

    return walk(result["imports"])


def test_same_named_folders_analyzed_at_once_each_see_their_own_code(tmp_path: Path) -> None:
    """Each function imports a module only it has; with a shared build each saw the other's too."""
    roots = []
    for team in ("a", "b"):
        root = tmp_path / f"team-{team}" / "fn"
        root.mkdir(parents=True)
        (root / "requirements.txt").write_text("")
        (root / f"only_{team}.py").write_text("X = 1\n")
        (root / "app.py").write_text(f"import only_{team}\n\n{HANDLER}")
        roots.append(root)
    # The same function twice more at once: its bytecode scratch must not collide either.
    cache = tmp_path / "cache"
    running = [_analyze(root, cache) for root in (*roots, roots[0])]
    outputs = [process.communicate(timeout=300) for process in running]
    for process, (_, stderr) in zip(running, outputs, strict=True):
        assert process.returncode == 0, stderr
    results = [json.loads(stdout) for stdout, _ in outputs]
    assert _own_modules(results[0]) == {"app", "only_a"}
    assert _own_modules(results[1]) == {"app", "only_b"}
    assert _own_modules(results[2]) == {"app", "only_a"}
