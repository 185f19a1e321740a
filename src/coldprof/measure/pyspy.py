"""Record the init phase of one cold start with py-spy, to a speedscope file."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from coldprof.errors import EnvironmentFailure, FunctionInitError
from coldprof.measure.prepare import prepare
from coldprof.measure.request import AnalyzeRequest
from coldprof.progress import NoProgress
from coldprof.results.analyze import AnalyzeResult
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.spec import EnvironmentSpec

# Samples per second. Each sample stops the runtime to read its memory: at 1000 Hz with native
# frames a 300 ms init stretched past 7 s here, at 250 Hz to about 0.6-2 s.
DEFAULT_RATE = 250
# The profiler slows init down many times over; Lambda's 10 s limit would cut a heavy one short.
PROFILED_INIT_LIMIT_S = 120.0
# py-spy unwinds native (C) frames on these; elsewhere asking for it is an error.
_NATIVE_MACHINES = ("x86_64", "amd64")
PTRACE_HINT = (
    "py-spy reads the runtime's memory with ptrace: run as root, or allow it with "
    "`sysctl kernel.yama.ptrace_scope=0`; in Docker add `--cap-add SYS_PTRACE`"
)


@dataclass(frozen=True)
class Recording:
    """Where the profile went, how init ended under the profiler, and whether C frames are in."""

    path: Path
    init_ms: float
    native: bool


def find_py_spy() -> str:
    """$COLDPROF_PY_SPY, else py-spy beside this interpreter (a venv's bin), else on PATH."""
    explicit = os.environ.get("COLDPROF_PY_SPY")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("py-spy")
    if found is None:
        raise EnvironmentFailure(
            "py-spy is not installed", hint="pip install py-spy (it comes with coldprof)"
        )
    return found


def spec_for(request: AnalyzeRequest, result: AnalyzeResult | None = None) -> EnvironmentSpec:
    """The spec the analyze's cold starts ran with, for one more, from the same builder: a
    relative --layer names the same folder, the template's layers and environment are in. It
    runs on the folders as they are (py-spy's paths must be real); preparing again hits the
    caches. ``result`` is not needed (the same request finds the same build)."""
    return prepare(request, NoProgress()).spec


def native_available() -> bool:
    return platform.machine().lower() in _NATIVE_MACHINES


def _stop(environment: ExecutionEnvironment) -> None:
    """SIGINT makes py-spy stop sampling and write its file, as Ctrl-C does; then the runtime
    (its child, still blocked in /next) goes with the process group."""
    proc = environment.proc
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _record_once(
    spec: EnvironmentSpec, output: Path, rate: int, native: bool
) -> tuple[Recording | None, str]:
    py_spy = find_py_spy()
    with tempfile.TemporaryDirectory(prefix="coldprof-pyspy-") as scratch:
        target = Path(scratch) / "profile.speedscope.json"
        wrapper = [py_spy, "record", "--format", "speedscope", "--rate", str(rate)]
        if native:
            wrapper.append("--native")
        wrapper += ["--output", str(target), "--"]
        environment = ExecutionEnvironment(
            replace(
                spec,
                wrapper=tuple(wrapper),
                importtime=False,
                merge_stderr=False,
                init_limit_s=max(spec.init_limit_s, PROFILED_INIT_LIMIT_S),
            )
        )
        try:
            outcome = environment.start()
            _stop(environment)
        finally:
            environment.kill()
        said = "\n".join(
            line
            for line in (environment.stderr_text() + "\n" + environment.init_output()).splitlines()
            if line.strip()
        )
        if not outcome.ok and outcome.status != "exited":
            raise FunctionInitError(
                f"the function failed at init under py-spy: {outcome.describe}",
                function_output=said,
            )
        if not target.is_file() or target.stat().st_size == 0:
            return None, said
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, output)
        return Recording(output, outcome.init_ms, native), said


def record_init(spec: EnvironmentSpec, output: Path, rate: int = DEFAULT_RATE) -> Recording:
    """One cold start under `py-spy record`, stopped at the end of init (the first /next).

    Native frames are asked for where py-spy supports them; if that fails, once more without.
    """
    attempts = [True, False] if native_available() else [False]
    said = ""
    for native in attempts:
        recording, said = _record_once(spec, output, rate, native)
        if recording is not None:
            return recording
    last = said.strip().splitlines()[-1] if said.strip() else "no output"
    raise EnvironmentFailure(f"py-spy could not record the init: {last}", hint=PTRACE_HINT)
