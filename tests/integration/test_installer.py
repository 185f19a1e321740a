"""Builds where coldprof's own interpreter has no pip (`uv tool install`, `venv --without-pip`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from coldprof.build.installer import bundled_pip_wheels, find_installer
from coldprof.errors import BuildError
from conftest import SAMPLES


def pipless_venv(root: Path) -> Path:
    """A venv made without pip that sees everything of this one's site-packages except pip."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120
    )
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
    )  # fmt: skip
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        if entry.name == "pip" or entry.name.startswith(("pip-", "uv", "_distutils_hack")):
            continue
        if not (site / entry.name).exists():
            (site / entry.name).symlink_to(entry)
    probe = subprocess.run([str(python), "-c", "import pip"], capture_output=True, timeout=60)
    assert probe.returncode != 0  # the premise: no pip module
    return python


def analyze_json(
    python: Path, cache: Path, path: Path, extra_path: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLDPROF_CACHE_DIR": str(cache),
        "PATH": f"{extra_path}{python.parent}:/usr/bin:/bin",  # no uv unless given, no pip
    }
    return subprocess.run(
        [str(python), "-m", "coldprof", "analyze", str(path), "--runs", "1"]
        + ["--bytecode-runs", "0", "--format", "json"],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip


UV = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["bundled pip", "uv"])
def test_a_venv_without_pip_builds_heavy_deps(tmp_path: Path, tool: str) -> None:
    if tool == "uv" and UV is None:
        pytest.skip("uv is not installed (the test extra has it)")
    if tool == "bundled pip" and not bundled_pip_wheels():
        pytest.skip("this Python ships no ensurepip wheel")
    python = pipless_venv(tmp_path / "venv")
    extra_path = ""
    if tool == "uv":
        (tmp_path / "uvbin").mkdir()
        (tmp_path / "uvbin" / "uv").symlink_to(str(UV))
        extra_path = f"{tmp_path / 'uvbin'}:"
    done = analyze_json(python, tmp_path / "cache", SAMPLES / "heavy_deps", extra_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (marker,) = (tmp_path / "cache" / "builds").glob("heavy_deps-*/deps-complete")
    used = marker.read_text()  # the command that built it
    assert ("uv pip install" in used) == (tool == "uv"), used
    assert ("pip-" in used and ".whl" in used) == (tool == "bundled pip"), used
    result = json.loads(done.stdout)
    names = {d["name"] for d in result["dependencies"]}
    assert {"numpy", "requests"} <= names
    builds = list((tmp_path / "cache" / "builds").glob("heavy_deps-*/package/numpy"))
    assert builds, "numpy was not built into the cache"


def test_this_interpreters_pip_comes_first() -> None:
    installer = find_installer(has_pip=True, uv="/somewhere/uv")
    assert installer.command == (sys.executable, "-m", "pip")


def test_uv_pip_builds_for_this_interpreter_and_platform(tmp_path: Path) -> None:
    installer = find_installer(has_pip=False, uv="/opt/uv")
    requirements = tmp_path / "requirements.txt"
    cmd = installer.install(tmp_path / "t", requirements, "manylinux2014_aarch64", "3.12")
    assert cmd[:4] == ["/opt/uv", "pip", "install", "--python"]
    assert cmd[4] == sys.executable
    assert cmd[cmd.index("--python-platform") + 1] == "aarch64-manylinux2014"
    assert cmd[cmd.index("--python-version") + 1] == "3.12"


@pytest.mark.skipif(UV is None, reason="uv is not installed")
def test_uv_pip_really_installs_into_the_target(tmp_path: Path) -> None:
    installer = find_installer(has_pip=False)
    assert installer.name == "uv pip"
    (tmp_path / "requirements.txt").write_text("")
    cmd = installer.install(tmp_path / "t", tmp_path / "requirements.txt")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_pip_anywhere_names_the_real_cause() -> None:
    with pytest.raises(BuildError) as caught:
        find_installer(has_pip=False, uv="", wheels=[])
    assert "has no pip module" in caught.value.message
    assert "uv is not on PATH" in caught.value.message
    assert caught.value.hint is not None and "requirements.txt" not in caught.value.hint
