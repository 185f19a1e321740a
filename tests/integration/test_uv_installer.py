"""--installer auto: uv where it yields pip's package; pip otherwise, and the build says why."""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldprof.build.dependencies import BuildTarget, build_installer
from coldprof.build.handler import FunctionSource
from coldprof.build.installer import choose, differences, find_uv, uv_platform
from coldprof.build.package import build_package
from coldprof.errors import UsageError

# Pinned, pure-Python and small: a quick build whatever the installer.
REQUIREMENTS = "idna==3.10\n"
TARGET = {"platform": "manylinux2014_x86_64", "python_version": "3.11"}


@pytest.fixture
def function(tmp_path: Path) -> FunctionSource:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "requirements.txt").write_text(REQUIREMENTS)
    (root / "app.py").write_text(
        "import idna\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    return FunctionSource(root, "app.lambda_handler", "test")


@pytest.fixture
def without_uv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLDPROF_UV", "")  # what a machine with no uv at all looks like


def _dists(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.dist-info"))


def test_differences_name_what_is_missing_extra_or_another_version() -> None:
    pip = {"numpy": "2.2.6", "idna": "3.10", "six": "1.16.0"}
    uv = {"numpy": "2.2.5", "idna": "3.10", "cython": "3.0.0"}
    assert differences(pip, uv) == [
        "cython 3.0.0 extra",
        "numpy 2.2.5 instead of 2.2.6",
        "six 1.16.0 missing",
    ]
    assert differences(pip, dict(pip)) == []


def test_uv_platform_names() -> None:
    assert uv_platform("manylinux2014_x86_64") == "x86_64-manylinux2014"
    assert uv_platform("manylinux2014_aarch64") == "aarch64-manylinux2014"


def test_a_machine_without_uv_builds_with_pip(
    function: FunctionSource, tmp_path: Path, without_uv: None
) -> None:
    assert find_uv() is None
    assert choose("auto").installer.value == "pip"
    notes: list[str] = []
    root = build_package(
        function, target=BuildTarget(**TARGET, installer="auto"), cache=tmp_path / "c", notes=notes
    )
    assert build_installer(root) == "pip"
    assert _dists(root) == ["idna-3.10.dist-info"]
    assert notes == []


def test_asking_for_uv_where_there_is_none_is_a_usage_error(without_uv: None) -> None:
    with pytest.raises(UsageError, match="uv is not installed"):
        choose("uv")


needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed (coldprof[fast])")


@needs_uv
def test_auto_builds_with_uv_when_it_yields_pips_package(
    function: FunctionSource, tmp_path: Path
) -> None:
    target = BuildTarget(**TARGET, installer="auto")
    notes: list[str] = []
    with_uv = build_package(function, target=target, cache=tmp_path / "uv", notes=notes)
    with_pip = build_package(
        function, target=BuildTarget(**TARGET, installer="pip"), cache=tmp_path / "pip"
    )
    assert build_installer(with_uv) == "uv"
    assert build_installer(with_pip) == "pip"
    assert _dists(with_uv) == _dists(with_pip) == ["idna-3.10.dist-info"]
    assert notes == []


@pytest.fixture
def disagreeing_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The real uv, after which one more distribution shows up in the target: a uv that
    resolves differently from pip, as uv did with greenlet and the .libs folders."""
    real = find_uv()
    if real is None:
        pytest.skip("uv is not installed (coldprof[fast])")
    script = tmp_path / "uv-that-differs"
    script.write_text(
        f"""#!{sys.executable}
import os, subprocess, sys
done = subprocess.run([{real!r}, *sys.argv[1:]])
target = sys.argv[sys.argv.index("--target") + 1]
extra = os.path.join(target, "surprise-1.0.dist-info")
os.makedirs(extra, exist_ok=True)
with open(os.path.join(extra, "METADATA"), "w") as f:
    f.write("Metadata-Version: 2.1\\nName: surprise\\nVersion: 1.0\\n\\n")
sys.exit(done.returncode)
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("COLDPROF_UV", str(script))
    yield script


def test_when_uv_and_pip_disagree_pips_build_is_used_and_says_why(
    function: FunctionSource, tmp_path: Path, disagreeing_uv: Path
) -> None:
    notes: list[str] = []
    root = build_package(
        function, target=BuildTarget(**TARGET, installer="auto"), cache=tmp_path / "c", notes=notes
    )
    assert build_installer(root) == "pip"
    assert _dists(root) == ["idna-3.10.dist-info"]  # no surprise: pip's package
    assert len(notes) == 1
    assert "uv's build differs from pip's" in notes[0] and "surprise 1.0 extra" in notes[0]


def _analyze_json(function: FunctionSource, *options: str) -> dict:
    import json
    import subprocess

    from conftest import coldprof_cmd

    done = subprocess.run(
        coldprof_cmd(
            "analyze",
            str(function.path),
            "--runs",
            "1",
            "--bytecode-runs",
            "0",
            "--no-lines",
            "--format",
            "json",
            *options,
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_result_records_the_installer(function: FunctionSource) -> None:
    assert _analyze_json(function, "--installer", "pip")["installer"] == "pip"
    if find_uv() is not None:
        assert _analyze_json(function, "--installer", "auto")["installer"] == "uv"


def test_the_installer_comes_from_pyproject_and_is_checked(function: FunctionSource) -> None:
    import subprocess

    from conftest import coldprof_cmd

    (function.path / "pyproject.toml").write_text('[tool.coldprof]\ninstaller = "pip"\n')
    assert _analyze_json(function)["installer"] == "pip"
    done = subprocess.run(
        coldprof_cmd("analyze", str(function.path), "--installer", "conda"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "expected auto, pip or uv" in done.stderr
