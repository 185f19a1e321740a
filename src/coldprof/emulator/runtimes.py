"""Which interpreter a function's Runtime runs on here: its own Python if installed, else ours."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from coldprof.build.cache import cache_root
from coldprof.runner import interpreter


@dataclass(frozen=True)
class ResolvedRuntime:
    """What a function's Runtime really runs on here."""

    python: str
    version: str  # "3.12.1"
    runtime_dir: Path
    note: str | None  # set when it is not the Python the Runtime names

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _same_python(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


class RuntimeResolver:
    """Finds, once per Runtime, the interpreter and runtime directory it runs on."""

    def __init__(self, python: str, runtime_dir: Path) -> None:
        self.python = python  # the emulator's --python: the fallback interpreter
        self.runtime_dir = runtime_dir  # coldprof's own runtime directory, for self.python
        self._lock = threading.Lock()
        self._found: dict[str, ResolvedRuntime] = {}

    def resolve(self, runtime: str) -> ResolvedRuntime:
        """The interpreter (and runtime directory) a Runtime runs on: its own Python where it is
        installed here, else coldprof's, with a note saying so. Found once per Runtime."""
        with self._lock:
            found = self._found.get(runtime)
        if found is not None:
            return found
        version = interpreter.wanted_version(runtime)
        python = interpreter.find_version(version, "Runtime") if version else None
        note = None
        if python is None:
            python = interpreter.own_interpreter()
            if not _same_python(self.python, python.path):
                probed = interpreter.probe(self.python)
                python = interpreter.Interpreter(
                    self.python,
                    str(probed["version"]) if probed else python.version,
                    (),
                    "--python",
                )
            note = (
                f"Runtime {runtime}: no Python {version or runtime} installed here, so it runs "
                f"on Python {python.version} ({python.path})"
            )
        sdk = interpreter.runtime_sdk(python.runtime, None)
        if python.is_own and sdk.boto3 is None:
            runtime_dir = self.runtime_dir
        else:
            runtime_dir = interpreter.installed_runtime_dir(python, sdk, cache_root())
        found = ResolvedRuntime(python.path, python.version, runtime_dir, note)
        with self._lock:
            self._found[runtime] = found
        return found
