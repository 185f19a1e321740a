"""Which pip builds a package: this Python's own, else `uv pip`, else the pip wheel CPython ships.

`uv tool install coldprof` (and `python -m venv --without-pip`) gives coldprof an interpreter
with no pip module. A build must still install for *this* interpreter, the one cold starts run.
"""

from __future__ import annotations

import enum
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldprof.build.names import normalize_name
from coldprof.errors import BuildError

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


# -- uv where it yields the same package as pip (--installer auto) -------------------------------
# uv installs the same requirements several times faster than pip (otterwiki's: 4.2 s against
# about 20 s), but fidelity comes first: the package analyzed must be the one a user's pip build
# would deploy. So a uv build is kept only when it holds exactly the distributions and versions
# pip resolves for the same requirements and target (`pip install --dry-run --report`,
# remembered per command); on any difference pip builds, and the build says why.
#
# Two differences that are not differences, found on real packages:
# - a wheel may hold an empty directory entry (PyYAML 6.0.2's manylinux wheel has `PyYAML.libs/`
#   with no file in it; Cython's too): uv creates the empty folder, pip skips it;
# - pip lists the `.pyc` files it compiled in RECORD, uv's `--compile-bytecode` does not.
# Neither changes what is imported, so they are not compared; and attribution gives bytecode
# that RECORD does not list to the distribution of its source (distributions._compiled_beside).


class Preference(str, enum.Enum):
    """--installer: auto (uv where it yields pip's package), pip, or uv."""

    auto = "auto"
    pip = "pip"
    uv = "uv"


@dataclass(frozen=True)
class Choice:
    """The installer a build will use, and why (for the build log and the result)."""

    installer: Preference  # pip or uv, never auto
    uv: str | None = None  # the uv executable
    reason: str = ""


def find_uv() -> str | None:
    """uv on PATH, or the binary of the `uv` package installed beside coldprof (coldprof[fast])."""
    explicit = os.environ.get("COLDPROF_UV")
    if explicit is not None:
        return explicit or None  # set but empty: behave as a machine without uv
    try:
        import uv  # type: ignore[import-not-found,unused-ignore]

        found = str(uv.find_uv_bin())
        if os.access(found, os.X_OK):
            return found
    except (ImportError, FileNotFoundError, AttributeError):
        pass
    return shutil.which("uv")


def choose(requested: Preference | str) -> Choice:
    """`auto` is uv when there is one, else pip; asking for uv where there is none is an error
    the caller reports."""
    requested = Preference(requested)
    if requested is Preference.pip:
        return Choice(Preference.pip, reason="--installer pip")
    uv = find_uv()
    if uv is None:
        if requested is Preference.uv:
            from coldprof.errors import UsageError

            raise UsageError(
                "--installer uv: uv is not installed",
                hint="pip install 'coldprof[fast]' (or uv itself), or use --installer auto",
            )
        return Choice(Preference.pip, reason="uv is not installed (pip install 'coldprof[fast]')")
    return Choice(Preference.uv, uv=uv, reason=f"{requested.value}: uv at {uv}")


def uv_platform(pip_platform: str) -> str:
    """pip's `manylinux2014_x86_64` as uv's `--python-platform` names it: `x86_64-manylinux2014`."""
    prefix, _, machine = pip_platform.partition("_")
    if machine in ("x86_64", "aarch64") and prefix.startswith("manylinux"):
        return f"{machine}-{prefix}"
    return pip_platform


def uv_install_command(
    uv: str,
    python: str,
    target_dir: Path,
    requirements: Path,
    platform_tag: str | None,
    python_version: str,
    extra: Sequence[str] = (),
) -> list[str]:
    """uv's equivalent of coldprof's `pip install --target`: same platform, Python version,
    wheels only for a platform build, bytecode compiled as pip compiles it."""
    cmd = [uv, "pip", "install", "--quiet", "--no-progress", "--python", python]
    cmd += ["--target", str(target_dir), "-r", str(requirements), "--compile-bytecode"]
    if platform_tag:
        cmd += ["--python-platform", uv_platform(platform_tag)]
        cmd += ["--python-version", python_version, "--only-binary", ":all:"]
    return [*cmd, *extra]


def installed_distributions(site: Path) -> dict[str, str]:
    """name → version of every distribution installed in ``site`` (its *.dist-info)."""
    from coldprof.measure.distributions import read_metadata

    found: dict[str, str] = {}
    for dist_info in site.glob("*.dist-info"):
        name, version = read_metadata(dist_info)
        found[normalize_name(name)] = version
    return found


def resolution_from_report(report: Mapping[str, Any]) -> dict[str, str]:
    """name → version of what a `pip install --dry-run --report` would install."""

    found: dict[str, str] = {}
    items = report.get("install")
    for item in items if isinstance(items, list) else []:
        metadata = item.get("metadata", {}) if isinstance(item, dict) else {}
        name, version = metadata.get("name"), metadata.get("version")
        if isinstance(name, str) and isinstance(version, str):
            found[normalize_name(name)] = version
    return found


def pip_resolution(
    pip_cmd: Sequence[str], cwd: Path, cache_file: Path, timeout_s: float = 600
) -> dict[str, str] | None:
    """What pip would install (``pip_cmd`` is the build's own `pip install` command, which gets
    `--dry-run --report`), remembered in ``cache_file``; None when pip cannot say."""
    try:
        cached = json.loads(cache_file.read_text())
        if isinstance(cached, dict) and all(isinstance(v, str) for v in cached.values()):
            return {str(k): v for k, v in cached.items()}
    except (OSError, ValueError):
        pass
    report = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.report")
    cmd = [*pip_cmd, "--dry-run", "--ignore-installed", "--report", str(report)]
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=cwd)
        if done.returncode != 0:
            return None
        resolved = resolution_from_report(json.loads(report.read_text()))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    finally:
        report.unlink(missing_ok=True)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(resolved, sort_keys=True))
    except OSError:
        pass  # asked again next time
    return resolved


def differences(pip: Mapping[str, str], uv: Mapping[str, str]) -> list[str]:
    """How the uv build differs from pip's resolution, one phrase each; empty when the same."""
    found = []
    for name in sorted(set(pip) | set(uv)):
        if name not in uv:
            found.append(f"{name} {pip[name]} missing")
        elif name not in pip:
            found.append(f"{name} {uv[name]} extra")
        elif pip[name] != uv[name]:
            found.append(f"{name} {uv[name]} instead of {pip[name]}")
    return found
