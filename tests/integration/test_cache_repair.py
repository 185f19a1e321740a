"""A damaged cache is rebuilt and the run goes on: never a traceback, never the function blamed.

Each test damages one part of a real cache as a crash, a full disk or a careless `rm` would,
then runs the real CLI on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from coldprof.build.runtime_dir import runtime_dir
from conftest import coldprof_cmd


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text(
        "import json\n\ndef lambda_handler(event, context):\n    return json.dumps(event)\n"
    )
    return root


def analyze(fn: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("analyze", str(fn), "--runs", "1", "--format", "json", *args),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLDPROF_CACHE_DIR": str(cache)},
    )


def assert_clean_run(done: subprocess.CompletedProcess[str]) -> dict:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "error" not in done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2, 3]",  # valid JSON, not a mapping
        '{"/a.py": 5, "/b.py": [1, 2, "three"], "/c.py": [1, 2, 3, "today"]}',  # bad entries
        "\x00\x01garbage{",
        "[" * 100_000,  # deep enough to exhaust the JSON parser's recursion
    ],
)
def test_a_zipped_size_cache_of_the_wrong_shape_is_rebuilt(
    function_dir: Path, tmp_path: Path, content: str
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "zipped-sizes.json").write_text(content)
    result = assert_clean_run(analyze(function_dir, cache, "--bytecode-runs", "0"))
    assert result["package"]["zipped_bytes"] > 0
    rebuilt = json.loads((cache / "zipped-sizes.json").read_text())
    assert isinstance(rebuilt, dict) and str(function_dir / "lambda_function.py") in rebuilt


def test_a_zipped_size_cache_that_is_a_directory_is_replaced(
    function_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    (cache / "zipped-sizes.json" / "junk").mkdir(parents=True)
    assert_clean_run(analyze(function_dir, cache, "--bytecode-runs", "0"))
    assert (cache / "zipped-sizes.json").is_file()


def _emptied(directory: Path) -> None:
    for entry in directory.iterdir():
        entry.unlink() if entry.is_symlink() or entry.is_file() else shutil.rmtree(entry)


def _without_awslambdaric(directory: Path) -> None:
    (directory / "awslambdaric").unlink()


def _dangling(directory: Path) -> None:
    (directory / "awslambdaric").unlink()
    (directory / "awslambdaric").symlink_to(directory / "gone")


def _a_file(directory: Path) -> None:
    shutil.rmtree(directory)
    directory.write_text("")


@pytest.mark.parametrize("damage", [_emptied, _without_awslambdaric, _dangling, _a_file])
def test_a_damaged_runtime_dir_is_rebuilt(
    function_dir: Path, tmp_path: Path, damage: object
) -> None:
    # Today's symptom: "the function failed at init: No module named awslambdaric", exit 3.
    cache = tmp_path / "cache"
    directory = runtime_dir(cache)
    damage(directory)  # type: ignore[operator]
    result = assert_clean_run(analyze(function_dir, cache, "--bytecode-runs", "0"))
    assert "awslambdaric" in {d["name"] for d in result["dependencies"]}
    assert (directory / "awslambdaric" / "__init__.py").is_file()


@pytest.mark.parametrize("where", ["", "without-package", "without-package/{first}"])
def test_a_bytecode_cache_entry_that_is_a_file_is_rebuilt(
    function_dir: Path, tmp_path: Path, where: str
) -> None:
    cache = tmp_path / "cache"
    assert_clean_run(analyze(function_dir, cache, "--bytecode-runs", "1"))
    (base,) = (cache / "pycache").iterdir()
    first = sorted((base / "without-package").iterdir())[0].name  # the top of a compiled tree
    target = base / where.format(first=first) if where else base
    shutil.rmtree(target)
    target.write_text("in the way")
    result = assert_clean_run(analyze(function_dir, cache, "--bytecode-runs", "1"))
    assert result["package"]["bytecode_penalty_ms"] is not None
    assert (base / "without-package").is_dir()
    compiled = list((base / "without-package").rglob("json/__init__*.pyc"))
    assert compiled, "the standard library is compiled again"
