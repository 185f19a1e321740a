"""Which pip builds a package: this Python's own, else `uv pip`, else the pip wheel CPython ships.

`uv tool install coldprof` (and `python -m venv --without-pip`) gives coldprof an interpreter
with no pip module. A build must still install for *this* interpreter, the one cold starts run.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError

# Run pip from its wheel, as ensurepip itself does: a wheel of pure Python imports from the zip.
_RUN_WHEEL = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "runpy.run_module('pip', run_name='__main__', alter_sys=True)"
)


@dataclass(frozen=True)
class Installer:
    """A command line that takes pip's `install` options, and what it is, for messages."""

    command: tuple[str, ...]
    name: str  # "pip" or "uv pip", as messages name the tool

    @property
    def is_uv(self) -> bool:
        return self.name == "uv pip"

    def install(
        self,
        target: Path,
        requirements: Path,
        platform: str | None = None,
        python_version: str | None = None,
    ) -> list[str]:
        """The command that installs ``requirements`` into ``target`` (for a platform, if one)."""
        if self.is_uv:
            cmd = [*self.command, "install", "--python", sys.executable, "--target", str(target)]
            cmd += ["-r", str(requirements)]
            if platform:
                # uv spells platforms the other way round: x86_64-manylinux2014
                tag, _, machine = platform.partition("_")
                cmd += ["--python-platform", f"{machine}-{tag}", "--only-binary", ":all:"]
                cmd += ["--python-version", str(python_version)]
            return cmd
        cmd = [*self.command, "install", "--disable-pip-version-check"]
        cmd += ["--no-input"]  # not --quiet: it would drop pip's explanation of a conflict
        cmd += ["--target", str(target), "-r", str(requirements)]
        if platform:
            cmd += ["--platform", platform, "--only-binary=:all:", "--implementation", "cp"]
            cmd += ["--python-version", str(python_version)]
        return cmd


def bundled_pip_wheels() -> list[Path]:
    """pip wheels CPython ships for ensurepip (Debian keeps them in WHEEL_PKG_DIR instead)."""
    places: list[Path] = []
    spec = importlib.util.find_spec("ensurepip")
    if spec is not None and spec.origin:
        places.append(Path(spec.origin).parent / "_bundled")
    if wheel_dir := sysconfig.get_config_var("WHEEL_PKG_DIR"):
        places.append(Path(wheel_dir))
    return sorted((w for place in places for w in place.glob("pip-*.whl")), key=_version_key)


def _version_key(wheel: Path) -> tuple[int, ...]:
    version = wheel.name.split("-")[1]
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_installer(
    has_pip: bool | None = None,
    uv: str | None = None,
    wheels: Iterable[Path] | None = None,
) -> Installer:
    """This interpreter's pip, else uv on PATH, else ensurepip's pip wheel; else a BuildError
    that says what is missing (never a hint that blames requirements.txt)."""
    if has_pip is None:
        has_pip = importlib.util.find_spec("pip") is not None
    if has_pip:
        return Installer((sys.executable, "-m", "pip"), "pip")
    if uv is None:  # on PATH, or beside this interpreter (a venv that has uv installed)
        uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv:
        return Installer((uv, "pip"), "uv pip")
    found = list(wheels if wheels is not None else bundled_pip_wheels())
    if found:
        wheel = found[-1]
        return Installer((sys.executable, "-c", _RUN_WHEEL, str(wheel)), "pip")
    raise BuildError(
        f"no pip to build the package with: {sys.executable} has no pip module, uv is not on "
        "PATH, and this Python ships no ensurepip wheel",
        hint=f"`{sys.executable} -m ensurepip`, or install uv (https://docs.astral.sh/uv/), or "
        "vendor the dependencies into the function folder and pass --no-build",
    )
