"""The command that starts the runtime client, under a child script when a cold start is traced."""

from __future__ import annotations

from pathlib import Path

from coldprof.runner.runtime_client import STANDIN
from coldprof.runner.spec import EnvironmentSpec

CHILD_DIR = Path(__file__).resolve().parent / "child"
IMPORTTIME_SHIM = CHILD_DIR / "importtime_shim.py"
USAGE_TRACER = CHILD_DIR / "usage_tracer.py"
LINE_TRACER = CHILD_DIR / "line_tracer.py"
STANDIN_SCRIPT = CHILD_DIR / "runtime_standin.py"

# Runs a child script by path in the function's interpreter, where coldprof is not importable;
# its argument list then reads as awslambdaric's does (sys.argv[1] is the handler). Not the
# script as `python SCRIPT`, whose folder (coldprof's) would lead sys.path, nor runpy.run_path,
# which imports pkgutil into every traced init. Compiled as "<string>", as a -c script is: a
# traceback of the function's init then names no file of coldprof's, whose frames are noise to
# the user there, and the usage tracer counts no code as run under its own module body.
RUN_CHILD_SCRIPT = """\
import sys
_path = sys.argv.pop(1)
with open(_path, "rb") as _file:
    _code = compile(_file.read(), "<string>", "exec")
exec(_code)
"""

# How every child script ends: it starts awslambdaric. Under the stand-in that line is swapped.
START_AWSLAMBDARIC = 'runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)'


def child_script(spec: EnvironmentSpec) -> Path | None:
    """The script the runtime client starts under: a tracer, the importtime shim, or none."""
    if spec.lines_config is not None:
        return LINE_TRACER
    if spec.trace_file is not None:
        return USAGE_TRACER
    if spec.importtime:
        return IMPORTTIME_SHIM
    return None


def runtime_command(spec: EnvironmentSpec) -> list[str]:
    """The interpreter command that starts the runtime client (under a child script, when
    tracing)."""
    python = [spec.python, "-s", "-S"]
    script = child_script(spec)
    if spec.runtime_client != STANDIN:
        if script is None:
            return [*python, "-m", "awslambdaric", spec.handler]
        return [*python, "-c", RUN_CHILD_SCRIPT, str(script), spec.handler]
    # By path from -c, not as a script: a script's folder (coldprof's) would lead sys.path.
    start = f"import runpy; runpy.run_path({str(STANDIN_SCRIPT)!r}, run_name='__main__')"
    if script is None:
        return [*python, "-c", start, spec.handler]
    bootstrap = RUN_CHILD_SCRIPT.replace(
        "_file.read()",
        f"_file.read().replace({START_AWSLAMBDARIC.encode()!r}, {start.encode()!r})",
    )
    return [*python, "-c", bootstrap, str(script), spec.handler]
