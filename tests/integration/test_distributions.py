"""Attribution of the function's modules: from paths and RECORD, never from coldprof's imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldprof.measure.distributions import Attribution, ModuleFinder
from conftest import coldprof_cmd, install_distribution


def _walk(nodes: list[dict]) -> Iterator[dict]:
    for node in nodes:
        yield node
        yield from _walk(node["children"])


def _dependency_by_module(result: dict) -> dict[str, str]:
    return {node["module"]: node["dependency"] for node in _walk(result["imports"])}


def test_finder_order_within_a_folder_and_along_the_path(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    # In one folder: a package beats a module of the same name, a module beats a namespace folder.
    (first / "pkg").mkdir(parents=True)
    (first / "pkg" / "__init__.py").write_text("")
    (first / "pkg.py").write_text("")
    (first / "mod").mkdir()
    (first / "mod.py").write_text("")
    (first / "fast.cpython-399-x86_64-linux-gnu.so").write_bytes(b"")  # any ABI tag
    (first / "fast.py").write_text("")
    # A namespace package with a portion in each folder; a regular package later on the path
    # does not end it, as in CPython.
    (first / "ns").mkdir()
    (second / "ns").mkdir(parents=True)
    finder = ModuleFinder()
    path = [str(first), str(second)]

    assert finder.find("pkg", path).origin == str(first / "pkg" / "__init__.py")
    assert finder.find("pkg", path).search_locations == (str(first / "pkg"),)
    assert finder.find("mod", path).origin == str(first / "mod.py")
    assert finder.find("fast", path).origin == str(first / "fast.cpython-399-x86_64-linux-gnu.so")
    namespace = finder.find("ns", path)
    assert namespace.origin is None
    assert namespace.search_locations == (str(first / "ns"), str(second / "ns"))
    assert finder.find("absent", path) is None
    assert finder.find("absent", [str(tmp_path / "no-such-folder")]) is None


def test_namespace_portion_inside_a_regular_package_is_attributed(tmp_path: Path) -> None:
    """The issue's minimal repro: a/__init__.py, a/ns/mod.py (no __init__), app.py imports a.ns.mod.

    importlib's PathFinder raised KeyError('a') here, from coldprof's own sys.modules.
    """
    site = tmp_path / "fn"
    install_distribution(site, "a-dist", {"a/__init__.py": "", "a/ns/mod.py": "X = 1\n"})
    (site / "own").mkdir()
    (site / "own" / "__init__.py").write_text("")
    (site / "own" / "ns").mkdir()
    (site / "own" / "ns" / "deep.py").write_text("")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    attribution = Attribution(site, [], runtime)

    assert "a" not in sys.modules  # nothing of the function's was imported here, before or after
    assert attribution.dependency_of("a.ns.mod").name == "a-dist"
    assert attribution.dependency_of("a.ns").name == "a-dist"
    assert attribution.dependency_of("own.ns.deep").kind == "function"
    assert "a" not in sys.modules


def test_analyze_a_function_with_a_namespace_portion_exits_0(tmp_path: Path) -> None:
    fn = tmp_path / "fn"
    (fn / "a" / "ns").mkdir(parents=True)
    (fn / "a" / "__init__.py").write_text("")
    (fn / "a" / "ns" / "mod.py").write_text("X = 1\n")
    (fn / "app.py").write_text(
        "import a.ns.mod\n\ndef lambda_handler(event, context):\n    return 1\n"
    )

    done = subprocess.run(
        coldprof_cmd("analyze", str(fn), "--runs", "2", "--bytecode-runs", "0", "--format", "json"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    owners = _dependency_by_module(json.loads(done.stdout))
    assert owners["a"] == owners["a.ns"] == owners["a.ns.mod"] == "(function)"


@pytest.mark.slow
def test_a_flask_3_app_is_analyzed(tmp_path: Path) -> None:
    """Flask 3 ships flask/sansio without __init__.py: every Flask 3 app crashed coldprof."""
    fn = tmp_path / "flask_app"
    fn.mkdir()
    (fn / "requirements.txt").write_text("flask==3.1.1\n")
    (fn / "app.py").write_text(
        "from flask import Flask\n\n"
        "app = Flask(__name__)\n\n\n"
        "@app.get('/')\ndef index():\n    return 'ok'\n\n\n"
        "def handler(event, context):\n    return {'statusCode': 200}\n"
    )
    done = subprocess.run(
        coldprof_cmd(
            "analyze",
            str(fn),
            "--handler",
            "app.handler",
            "--runs",
            "2",
            "--bytecode-runs",
            "0",
            "--format",
            "json",
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    owners = _dependency_by_module(result)
    assert owners["flask.sansio.app"] == "flask"
    assert owners["flask"] == "flask"
    assert {"flask", "werkzeug", "jinja2"} <= {d["name"] for d in result["dependencies"]}


def test_bytecode_the_record_does_not_list_belongs_to_its_distribution(tmp_path: Path) -> None:
    """uv's --compile-bytecode leaves the .pyc out of RECORD (pip lists them): they are the
    distribution's all the same, not the function's own files."""
    site = tmp_path / "fn"
    install_distribution(site, "dep", {"dep/__init__.py": "X = 1\n"})
    compiled = site / "dep" / "__pycache__" / "__init__.cpython-311.pyc"
    compiled.parent.mkdir()
    compiled.write_bytes(b"\0" * 4096)
    (site / "app.py").write_text("import dep\n")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    attribution = Attribution(site, [], runtime)
    assert str(compiled) in attribution.by_name["dep"].files
    assert [Path(f).name for f in attribution.function_files()] == ["app.py"]
