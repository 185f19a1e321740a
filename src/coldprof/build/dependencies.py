"""Install a function's requirements for a target platform with pip (or uv where it matches)."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coldprof.build.cache import remove_path
from coldprof.errors import BuildError


@dataclass(frozen=True)
class BuildTarget:
    """The platform dependencies are installed for; None for this machine's own."""

    platform: str | None = None  # e.g. "manylinux2014_x86_64"
    python_version: str = f"{sys.version_info[0]}.{sys.version_info[1]}"
    # Builds what has no wheel for the platform from source (that interpreter's pip); "" is
    # coldprof's own interpreter.
    python: str = ""
    installer: str = "auto"  # auto, pip or uv (installer.choose): uv only where it matches pip

    @property
    def key(self) -> str:
        return f"py{self.python_version}-{self.platform or 'local'}"

    @property
    def compiled_by_target(self) -> bool:
        """Whether the package's bytecode is written by the target's own interpreter: pip
        compiles with the Python that runs it, whose .pyc files another Python never loads."""
        own = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return bool(self.python) and self.python_version != own


BUILD_WARNINGS = "build-warnings.txt"
_PIP_TARGET_FLAGS = ("--disable-pip-version-check", "--no-input", "--quiet")


def _requirement_lines(requirements: Path) -> list[str]:
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def _requirement_options(requirements: Path) -> list[str]:
    """The pip options a requirements file sets (--find-links, --index-url...), as arguments."""
    import shlex

    options = []
    for raw in requirements.read_text().splitlines():
        line = raw.strip()
        if line.startswith("-") and not line.startswith(
            ("-r", "-c", "--requirement", "--constraint")
        ):
            options.extend(shlex.split(line, comments=True))
    return options


def _has_wheel(
    requirement: str, target: BuildTarget, requirements: Path, pip: Sequence[str]
) -> bool:
    """Whether pip finds a wheel for the requirement itself on the target platform."""
    assert target.platform is not None
    with tempfile.TemporaryDirectory(prefix="coldprof-wheel-") as scratch:
        cmd = [*pip, "download", *_PIP_TARGET_FLAGS, "--no-deps"]
        cmd += [
            "-d",
            scratch,
            *_platform_flags(target),
            *_requirement_options(requirements),
            requirement,
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=300, cwd=requirements.parent
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0


def _platform_flags(target: BuildTarget) -> list[str]:
    assert target.platform is not None
    return [
        "--platform",
        target.platform,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
    ]


def _merge_into(source: Path, destination: Path) -> None:
    """Move what ``source`` holds into ``destination``, keeping what is there already."""
    for entry in source.iterdir():
        if not (destination / entry.name).exists():
            shutil.move(str(entry), destination / entry.name)


def pip_install(
    requirements: Path,
    base: Path,
    target: BuildTarget,
    log: list[str] | None,
    constraints: Sequence[str] = (),
) -> None:
    from coldprof.build.installer import find_installer

    installer = find_installer()
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=base.parent))
    cmd = installer.install(staging, requirements, target.platform, target.python_version)
    cmd += constraints
    fallback = None
    if not installer.is_uv:  # with no pip at all, `uv pip` is the build and nothing compares
        fallback = _uv_install(requirements, base, staging, target, log, constraints, cmd)
        if fallback is None:
            return  # uv built the very package pip would have
    if target.compiled_by_target and not installer.is_uv:  # uv compiles nothing unless asked
        cmd.append("--no-compile")
    report = staging.parent / f"{staging.name}-report.json"
    if target.platform and not installer.is_uv:
        cmd += ["--report", str(report)]
    done = _run_pip(cmd, requirements, staging, log, installer.name)
    warnings: list[str] = [fallback] if fallback else []
    if done.returncode == 0 and target.platform and not installer.is_uv:
        # pip builds a local folder or a direct URL whatever --only-binary says: say which.
        warnings += [_source_warning(name, target) for name in _built_from_source(report)]
    report.unlink(missing_ok=True)
    if done.returncode != 0 and target.platform and not installer.is_uv:
        # Lambda's platform tags take wheels only: build what has none from source, alone.
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        lines = _requirement_lines(requirements)
        pip = list(installer.command)
        no_wheel = [r for r in lines if not _has_wheel(r, target, requirements, pip)]
        if no_wheel:
            done = _install_split(
                lines, no_wheel, requirements, staging, target, log, constraints, pip
            )
            warnings += [_source_warning(r, target) for r in no_wheel]
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        headline, explanation = pip_failure(done.stdout, done.stderr)
        raise BuildError(
            f"{installer.name} install -r {requirements} failed: {headline}",
            hint="fix requirements.txt, or vendor the dependencies and pass --no-build",
            details="\n".join(["---- pip's explanation ----", *explanation, "-" * 27])
            if explanation
            else "",
        )
    if target.compiled_by_target:
        _compile_with(target.python, staging)
    _keep_build(base, staging, "uv" if installer.is_uv else "pip", warnings, cmd)


def _keep_build(
    base: Path, staging: Path, installer: str, warnings: Sequence[str], cmd: Sequence[str]
) -> None:
    """Make ``staging`` the build's package, with what built it and what to say about it."""
    package = base / "package"
    if not base.is_dir():
        remove_path(base)
    remove_path(package)
    base.mkdir(parents=True, exist_ok=True)
    staging.rename(package)
    (base / BUILD_WARNINGS).write_text("\n".join(warnings))
    (base / INSTALLER_FILE).write_text(installer)
    (base / "deps-complete").write_text(" ".join(cmd))


INSTALLER_FILE = "installer"  # in a build: which installer made it, "pip" or "uv"


def build_installer(task_root: Path) -> str | None:
    """Which installer built the package at ``task_root``; None for a folder as it is."""
    try:
        return (task_root.parent / INSTALLER_FILE).read_text().strip() or None
    except OSError:
        return None


def _uv_install(
    requirements: Path,
    base: Path,
    staging: Path,
    target: BuildTarget,
    log: list[str] | None,
    constraints: Sequence[str],
    pip_cmd: Sequence[str],
) -> str | None:
    """Build with uv when it is chosen and yields what pip would; None when it did.

    Otherwise returns why pip builds instead ("" when uv was not chosen). pip's resolution of
    the same command (a dry run, remembered per command) runs beside uv's install.
    """
    import concurrent.futures

    from coldprof.build.installer import (
        Preference,
        choose,
        differences,
        installed_distributions,
        pip_resolution,
        uv_install_command,
    )

    choice = choose(target.installer)
    if choice.installer is not Preference.uv or choice.uv is None:
        return ""
    # uv compiles with the interpreter it installs for, so its .pyc match the target's Python.
    cmd = uv_install_command(
        choice.uv,
        target.python or sys.executable,
        staging,
        requirements,
        target.platform,
        target.python_version,
        constraints,
    )
    start = list(pip_cmd).index("-r")
    key = hashlib.sha256(
        "\0".join([*pip_cmd[start:], requirements.read_text()]).encode()
    ).hexdigest()[:16]
    resolution_file = base.parent.parent / "resolutions" / f"{key}.json"
    # The dry run installs nothing: its --target only has to be a folder that is not staging.
    dry = [a for a in pip_cmd if a != "--no-compile"]
    dry[dry.index("--target") + 1] = str(staging.parent / f"{staging.name}-dry")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        resolved = pool.submit(pip_resolution, dry, requirements.parent, resolution_file)
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=900, cwd=requirements.parent
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            done = subprocess.CompletedProcess(cmd, 1, "", str(e))
        pip_would = resolved.result()
    if log is not None:
        log.append(done.stdout + done.stderr)
    why = None
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["?"]
        why = f"uv could not build it ({last[0].strip()})"
    elif pip_would is None:
        why = "pip's resolution, to compare uv's build with, could not be had"
    else:
        differ = differences(pip_would, installed_distributions(staging))
        if differ:
            more = f" and {len(differ) - 4} more" if len(differ) > 4 else ""
            why = f"uv's build differs from pip's ({', '.join(differ[:4])}{more})"
    if why is not None:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        return f"built with pip: {why}"
    _keep_build(base, staging, "uv", [], cmd)
    return None


def _compile_with(python: str, folder: Path) -> None:
    """Write the .pyc files ``python`` loads for every .py under ``folder``, as pip would have
    had that Python run it. A file that does not compile stays without (as with pip)."""
    cmd = [python, "-I", "-m", "compileall", "-q", "-j", "0", str(folder)]
    try:
        subprocess.run(cmd, capture_output=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise BuildError(f"compiling the package with {python} could not run: {e}") from e


PIP_EXPLANATION_LINES = 20


def pip_failure(stdout: str, stderr: str) -> tuple[str, list[str]]:
    """A failed pip install as (its one-line error, the lines that explain it).

    The explanation is pip's "The conflict is caused by:" block (pip prints it on stdout) or,
    for any other failure, the end of its stderr; at most PIP_EXPLANATION_LINES either way.
    """
    errors = [
        line.removeprefix("ERROR: ").strip()
        for line in stderr.splitlines()
        if line.startswith("ERROR: ") and not line.startswith("ERROR: ResolutionImpossible")
    ]
    lines = stdout.splitlines() + stderr.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("The conflict is caused")), -1
    )
    if start >= 0:
        end = next(
            (i for i in range(start, len(lines)) if lines[i].startswith("To fix this")), len(lines)
        )
        block = lines[start:end]
    else:
        block = [
            line
            for line in stderr.splitlines()
            if line.strip()
            and not line.startswith("WARNING: ")
            and line.removeprefix("ERROR: ").strip() not in errors[-1:]
        ]
        block = block[-PIP_EXPLANATION_LINES:]
    while block and not block[-1].strip():
        block.pop()
    if len(block) > PIP_EXPLANATION_LINES:
        cut = len(block) - PIP_EXPLANATION_LINES
        block = [*block[:PIP_EXPLANATION_LINES], f"... ({cut} more lines)"]
    tail = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["?"]
    return (errors[-1] if errors else tail[0].strip()), block


def _source_warning(requirement: str, target: BuildTarget) -> str:
    return (
        f"{requirement}: no wheel for {target.platform} and Python {target.python_version}; "
        f"built from source on this machine ({platform.machine()})"
    )


def _built_from_source(report: Path) -> list[str]:
    """The distributions a `pip install --report` installed from something not a wheel."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return []
    names = []
    for item in data.get("install", []):
        url = str((item.get("download_info") or {}).get("url", ""))
        if not url.endswith(".whl"):
            names.append(str((item.get("metadata") or {}).get("name", url)))
    return names


def _run_pip(
    cmd: list[str],
    requirements: Path,
    staging: Path,
    log: list[str] | None,
    name: str = "pip",
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=900, cwd=requirements.parent
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"{name} install -r {requirements} could not run: {e}") from e
    if log is not None:
        log.append(done.stdout + done.stderr)
    return done


def _install_split(
    lines: Sequence[str],
    no_wheel: Sequence[str],
    requirements: Path,
    staging: Path,
    target: BuildTarget,
    log: list[str] | None,
    constraints: Sequence[str] = (),
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
) -> subprocess.CompletedProcess[str]:
    """The requirements with wheels as Lambda's platform takes them, then the rest from source
    with the function's interpreter, merged into ``staging``."""
    wheels = [r for r in lines if r not in no_wheel]
    done: subprocess.CompletedProcess[str] | None = None
    if wheels:
        cmd = [*pip, "install", *_PIP_TARGET_FLAGS, "--target"]
        cmd += [str(staging), *_platform_flags(target), *constraints]
        cmd += ["--no-compile"] if target.compiled_by_target else []
        cmd += [*_requirement_options(requirements), *wheels]
        done = _run_pip(cmd, requirements, staging, log)
        if done.returncode != 0:
            return done
    built = Path(tempfile.mkdtemp(prefix="source-", dir=staging.parent))
    try:
        cmd = [target.python or sys.executable, "-m", "pip", "install", *_PIP_TARGET_FLAGS]
        cmd += ["--target", str(built), *constraints, *_requirement_options(requirements)]
        cmd += ["--no-compile"] if target.compiled_by_target else []
        cmd += no_wheel
        done = _run_pip(cmd, requirements, staging, log)
        if done.returncode == 0:
            _merge_into(built, staging)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return done
