"""The function's own interpreter: found from --python or its Runtime, and its runtime directory."""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldprof import lambda_facts
from coldprof.errors import BuildError, UsageError

_VERSION_RE = re.compile(r"^(?:python)?(3\.\d+)$")

# Run by the candidate interpreter with -S -I (isolated: no site, no script folder on sys.path).
_PROBE = Path(__file__).resolve().parent / "child" / "interpreter_probe.py"


class InterpreterNotFoundError(UsageError):
    """The Python a function asks for is not installed here."""


@dataclass(frozen=True)
class Interpreter:
    """A Python interpreter a function runs on, and why it was chosen."""

    path: str
    version: str  # "3.12.1"
    stdlib: tuple[str, ...]
    origin: str  # "--python", "Runtime in template.yaml", "coldprof's own"
    extension_suffixes: tuple[str, ...] = ()
    stdlib_module_names: frozenset[str] = frozenset()

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def runtime(self) -> str:
        return f"python{self.minor}"

    @property
    def is_own(self) -> bool:
        """Whether this is the interpreter coldprof itself runs on."""
        return _same_file(self.path, sys.executable)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def own_interpreter(origin: str = "coldprof's own") -> Interpreter:
    paths = sysconfig.get_paths()
    import importlib.machinery

    return Interpreter(
        path=sys.executable,
        version=platform.python_version(),
        stdlib=(paths["stdlib"], paths["platstdlib"]),
        origin=origin,
        extension_suffixes=tuple(importlib.machinery.EXTENSION_SUFFIXES),
        stdlib_module_names=frozenset(sys.stdlib_module_names),
    )


@functools.lru_cache(maxsize=32)
def probe(path: str) -> dict[str, Any] | None:
    """What an interpreter says about itself, or None when it does not run."""
    try:
        done = subprocess.run(
            [path, "-S", "-I", str(_PROBE)], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return data if isinstance(data, dict) else None


def _from_probe(path: str, origin: str) -> Interpreter | None:
    data = probe(path)
    if data is None:
        return None
    return Interpreter(
        path=str(data["executable"]) or path,
        version=str(data["version"]),
        stdlib=tuple(str(p) for p in data["stdlib"]),
        origin=origin,
        extension_suffixes=tuple(data.get("extension_suffixes", ())),
        stdlib_module_names=frozenset(data.get("stdlib_module_names", ())),
    )


def wanted_version(text: str) -> str | None:
    """ "3.12" or "python3.12" → "3.12"; None for anything else (a path)."""
    match = _VERSION_RE.match(text.strip())
    return match.group(1) if match else None


def _pyenv_root() -> Path:
    explicit = os.environ.get("PYENV_ROOT")
    return Path(explicit) if explicit else Path.home() / ".pyenv"


def _version_key(path: str) -> tuple[int, ...]:
    found = re.search(r"/(\d+)\.(\d+)\.(\d+)[^/]*/bin/", path)
    return tuple(int(g) for g in found.groups()) if found else (0,)


def candidates(version: str) -> list[str]:
    """Where an interpreter for ``version`` ("3.12") may be: PATH, pyenv's versions, uv's."""
    found: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    pyenv = sorted(
        glob.glob(str(_pyenv_root() / "versions" / f"{version}.*" / "bin" / f"python{version}")),
        key=_version_key,
        reverse=True,
    )
    found.extend(p for p in pyenv if "t/bin" not in p)  # not a free-threaded build
    uv = shutil.which("uv")
    if uv:
        try:
            done = subprocess.run(
                [uv, "python", "find", version], capture_output=True, text=True, timeout=30
            )
            if done.returncode == 0 and done.stdout.strip():
                found.append(done.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired):
            pass
    return found


def find_version(version: str, origin: str) -> Interpreter | None:
    """An interpreter of ``version`` ("3.12"): coldprof's own when it is that version."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return own_interpreter(origin)
    for candidate in candidates(version):
        interpreter = _from_probe(candidate, origin)
        if interpreter is not None and interpreter.minor == version:
            return interpreter
    return None


def install_hint(version: str) -> str:
    return (
        f"install Python {version} (`pyenv install {version}` or `uv python install {version}`), "
        "or point --python at an interpreter's path"
    )


def resolve(wanted: str | None, declared_runtime: str | None, declared_in: str = "") -> Interpreter:
    """The interpreter to run: --python, else the declared Runtime, else coldprof's own.

    Never falls back in silence: what was asked for and is missing is a usage error (exit 2).
    """
    if wanted:
        version = wanted_version(wanted)
        if version is None:
            if os.sep not in wanted and not shutil.which(wanted) and not os.path.exists(wanted):
                raise UsageError(
                    f"--python {wanted}: expected a version (3.12), a runtime (python3.12) "
                    "or an interpreter's path"
                )
            path = shutil.which(wanted) or wanted
            interpreter = _from_probe(path, "--python")
            if interpreter is None:
                raise InterpreterNotFoundError(
                    f"--python {wanted}: not a Python interpreter that runs here",
                    hint="point --python at a python3 executable",
                )
            return interpreter
        interpreter = find_version(version, "--python")
        if interpreter is None:
            raise InterpreterNotFoundError(
                f"--python {wanted}: no Python {version} found on PATH, in pyenv or uv",
                hint=install_hint(version),
            )
        return interpreter
    if declared_runtime:
        version = wanted_version(declared_runtime)
        if version is None:
            raise UsageError(
                f"Runtime {declared_runtime}{declared_in}: not a Python runtime",
                hint="coldprof profiles python3.N functions; pass --python to pick one",
            )
        origin = f"Runtime{declared_in}"
        interpreter = find_version(version, origin)
        if interpreter is None:
            raise InterpreterNotFoundError(
                f"the function's Runtime is {declared_runtime}{declared_in}, and no Python "
                f"{version} was found on PATH, in pyenv or uv",
                hint=install_hint(version) + "; or measure on another with --python",
            )
        return interpreter
    return own_interpreter()


# -- the declared runtime ---------------------------------------------------------------------
# A stand-in for the projects work (templates read properly): the Runtime a SAM template or
# serverless.yml names for the function, read line by line. Replace this one function.
_RUNTIME_RE = re.compile(r"^\s*[Rr]untime:\s*['\"]?(python3\.\d+)['\"]?\s*(#.*)?$")
_TEMPLATE_NAMES = ("template.yaml", "template.yml", "serverless.yml", "serverless.yaml")


def declared_runtime(function_dir: Path) -> tuple[str, str] | None:
    """(runtime, the file that declares it) for a function directory, or None.

    Looks in the directory and its parent (a template's CodeUri is often a subfolder). When a
    template names several Python runtimes, the first one counts.
    """
    for folder in (function_dir, function_dir.parent):
        for name in _TEMPLATE_NAMES:
            template = folder / name
            if not template.is_file():
                continue
            for line in template.read_text(errors="replace").splitlines():
                match = _RUNTIME_RE.match(line)
                if match:
                    return match.group(1), name
    return None


# -- the runtime directory, per interpreter ------------------------------------------------------
@dataclass(frozen=True)
class RuntimeSdk:
    """The boto3 and botocore a runtime directory holds, and where those versions come from."""

    boto3: str | None  # None: whatever is installed beside coldprof
    botocore: str | None
    origin: str  # "--runtime-boto3", "AWS's table (…)", "installed beside coldprof"


def runtime_sdk(runtime: str, override: str | None) -> RuntimeSdk:
    """Which boto3 a runtime directory should hold: --runtime-boto3, else Lambda's table."""
    if override:
        if not re.fullmatch(r"\d+\.\d+\.\d+", override):
            raise UsageError(f"--runtime-boto3 {override}: expected a version such as 1.35.36")
        # One release train: boto3 1.x.y ships with botocore 1.(x+3).y up to boto3 1.32, and
        # with the same number since boto3 1.33 (when the two were aligned).
        major, minor, patch = override.split(".")
        shift = 3 if (int(major), int(minor)) < (1, 33) else 0
        return RuntimeSdk(override, f"{major}.{int(minor) + shift}.{patch}", "--runtime-boto3")
    published = lambda_facts.runtime_sdk(runtime)
    if published is not None:
        return RuntimeSdk(
            published[0],
            published[1],
            f"as AWS last published for {runtime} (read {lambda_facts.RUNTIME_SDK_TABLE_READ})",
        )
    return RuntimeSdk(
        None, None, f"installed beside coldprof: AWS publishes no version for {runtime}"
    )


def installed_runtime_dir(interpreter: Interpreter, sdk: RuntimeSdk, cache: Path) -> Path:
    """awslambdaric, boto3 and botocore installed by ``interpreter``'s pip into the cache, once."""
    from coldprof.build.cache import locked
    from coldprof.build.runtime_dir import runtime_distributions

    boto3, botocore = sdk.boto3, sdk.botocore
    if boto3 is None:
        versions = {d.metadata["Name"].lower(): d.version for d in runtime_distributions()}
        boto3, botocore = versions.get("boto3"), versions.get("botocore")
    requirements = ["awslambdaric"]
    requirements += [f"boto3=={boto3}"] if boto3 else ["boto3"]
    requirements += [f"botocore=={botocore}"] if botocore else []
    key = f"{interpreter.path};{interpreter.version};{';'.join(requirements)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    destination = cache / "runtime" / f"python{interpreter.version}-{digest}"
    if (destination / ".complete").exists():
        return destination
    with locked(destination.with_suffix(".lock")):
        if (destination / ".complete").exists():
            return destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=destination.parent))
        cmd = [interpreter.path, "-m", "pip", "install", "--disable-pip-version-check"]
        cmd += ["--no-input", "--quiet", "--target", str(staging), *requirements]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            shutil.rmtree(staging, ignore_errors=True)
            raise BuildError(f"installing the runtime for Python {interpreter.version}: {e}") from e
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            last = [ln for ln in done.stderr.strip().splitlines() if ln.strip()][-1:] or ["?"]
            raise BuildError(
                f"installing {' '.join(requirements)} with Python {interpreter.version} failed: "
                f"{last[0]}",
                hint="check that this Python has pip (python -m ensurepip) and PyPI is reachable",
            )
        (staging / ".complete").write_text(" ".join(cmd))
        shutil.rmtree(destination, ignore_errors=True)
        staging.rename(destination)
    return destination


def runtime_dir_for(interpreter: Interpreter, sdk: RuntimeSdk, cache: Path | None = None) -> Path:
    """The runtime directory for an interpreter: coldprof's own packages, linked, when they
    fit (its own interpreter, no version asked for); else an install of its own."""
    from coldprof.build.cache import cache_root
    from coldprof.build.runtime_dir import runtime_dir

    if interpreter.is_own and sdk.boto3 is None:
        return runtime_dir(cache)
    return installed_runtime_dir(interpreter, sdk, cache or cache_root())
