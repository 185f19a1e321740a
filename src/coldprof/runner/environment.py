"""One execution environment: awslambdaric in a fresh interpreter with Lambda's sys.path and env."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from coldprof.lambda_facts import DEFAULT_REGION, MB_PER_VCPU
from coldprof.runner import lambda_fs, procstat
from coldprof.runner.procstat import ProcessSample
from coldprof.runner.reaper import become_subreaper, kill_environment, spawn
from coldprof.runner.runtime_api import Invocation, InvocationOutcome, RuntimeApi

INIT_LIMIT_S = 10.0
DEFAULT_ACCOUNT = "123456789012"

# The function never sees the developer's shell (build_env starts from nothing): it gets these
# instead of real credentials, so SDK clients build as on Lambda and nothing can reach AWS.
_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIACOLDPROFDUMMY000",
    "AWS_SECRET_ACCESS_KEY": "coldprof-dummy-secret-access-key-not-real",
    "AWS_SESSION_TOKEN": "coldprof-dummy-session-token",
}


# awslambdaric loads the handler with importlib.import_module, which bypasses the C import path
# that -X importtime instruments: the handler module would print no row and its imports would
# show up as orphans. With importtime on, route just that one call through __import__ and start
# the real runtime with runpy, exactly as `python -m awslambdaric HANDLER` does.
_IMPORTTIME_SHIM = """\
import importlib, runpy, sys
_import_module = importlib.import_module
def _traced_import_module(name, package=None):
    if package is None and name == sys.argv[1].rsplit(".", 1)[0].replace("/", "."):
        __import__(name)
        return sys.modules[name]
    return _import_module(name, package)
importlib.import_module = _traced_import_module
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
"""

# The lazy-import advisor's traced cold start (on only when EnvironmentSpec.trace_file is set).
# It runs in the function's interpreter, where coldprof is not importable: standard library only.
# It records, into $COLDPROF_TRACE_FILE as JSON:
# - during the handler module's import (init): the code that ran under each module body, so
#   the parent can tell a dependency your module-level code calls from one merely imported; and,
#   through an audit hook, network connections, DNS look-ups, subprocesses and file opens;
# - during each invocation: every code file that ran (PY_START, or 'call' before 3.12) and the
#   module of every C function called, so a dependency used only through C still counts.
# The handler is wrapped so tracing is on only inside invocations; the file is rewritten after
# init and after each invocation, before the response is posted, so the parent can read it then.
USAGE_TRACER = """\
import os as _ct_os, sys as _ct_sys
_ct_path = _ct_os.environ.pop("COLDPROF_TRACE_FILE", "")
_ct_state = {"phase": None}
_ct_init_code = set()  # (code file, file of the module body it ran under)
_ct_init_calls = set()  # (module of a C callable, file of the module body it ran under)
_ct_files = set()
_ct_modules = set()
_ct_invocations = []
_ct_effects = {"network": [], "dns": [], "subprocesses": [], "opens": 0, "module_opens": 0,
               "other_opens": []}
_CT_MODULE_FILES = (".py", ".pyc")


def _ct_callable_module(obj):
    # Python functions are seen by PY_START/'call'; this is for C functions, methods and types.
    try:
        kind = type(obj)
        if kind.__module__ == "builtins" and kind.__name__ in ("function", "method"):
            return None
        name = getattr(obj, "__module__", None)
        if isinstance(name, str) and name != "builtins":
            return name
        owner = getattr(obj, "__self__", None)
        if owner is not None and type(owner).__name__ != "module":
            return type(owner).__module__
        owner = getattr(obj, "__objclass__", None)
        if owner is not None:
            return owner.__module__
        return name if isinstance(name, str) else kind.__module__
    except Exception:
        return None


def _ct_body_file(frame):
    # The nearest module body up the stack: whose top-level code this call serves. None for
    # calls made by the import system (finders, a package's __getattr__ for a from-import).
    depth = 0
    while frame is not None and depth < 400:
        code = frame.f_code
        name = code.co_filename
        if name.startswith("<frozen importlib"):
            return None
        if code.co_name == "<module>" and not name.startswith("<"):
            return name
        frame = frame.f_back
        depth += 1
    return None


def _ct_audit(event, args):
    if _ct_state["phase"] != "init":
        return
    try:
        effects = _ct_effects
        if event == "open":
            path = args[0]
            path = _ct_os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)
            effects["opens"] += 1
            # The import system reads sources and bytecode from its own (frozen) frames.
            caller = _ct_sys._getframe(1).f_code.co_filename
            if caller.startswith("<frozen importlib") and path.endswith(_CT_MODULE_FILES):
                effects["module_opens"] += 1
            elif len(effects["other_opens"]) < 50:
                effects["other_opens"].append(path)
        elif event == "socket.connect" or event == "socket.sendto":
            address = args[1]
            if isinstance(address, tuple) and len(address) >= 2:
                address = "%s:%s" % (address[0], address[1])
            effects["network"].append("%s %s" % (event.split(".")[1], address))
        elif event == "socket.getaddrinfo":
            effects["dns"].append("%s:%s" % (args[0], args[1]))
        elif event in ("socket.gethostbyname", "socket.gethostbyname_ex"):
            effects["dns"].append(str(args[0]))
        elif event == "subprocess.Popen":
            command = args[1]
            if not isinstance(command, (str, bytes)):
                command = " ".join(map(str, command))
            effects["subprocesses"].append("subprocess.Popen: %s" % (command,))
        elif event == "os.system":
            effects["subprocesses"].append("os.system: %s" % (args[0],))
        elif event in ("os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty"):
            effects["subprocesses"].append("%s: %s" % (event, " ".join(map(str, args[:2]))))
    except Exception:
        pass


def _ct_write():
    import json
    data = {
        "version": 1,
        "tracer": _ct_tracer,
        "python": "%d.%d.%d" % _ct_sys.version_info[:3],
        "cwd": _ct_os.getcwd(),
        "init": {
            "code": sorted(_ct_init_code),
            "calls": sorted(_ct_init_calls),
            "effects": _ct_effects,
        },
        "invocations": _ct_invocations,
    }
    temporary = _ct_path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(data, handle)
    _ct_os.replace(temporary, _ct_path)


def _ct_claim_tool():
    # A free sys.monitoring tool id (3.12+), or None: then the setprofile fallback is used.
    monitoring = getattr(_ct_sys, "monitoring", None)
    for tool in (2, 5, 4, 3) if monitoring is not None else ():
        try:
            monitoring.use_tool_id(tool, "coldprof")
            return tool
        except ValueError:
            continue
    return None


_ct_tool = _ct_claim_tool()
if _ct_tool is not None:
    _ct_tracer = "sys.monitoring"
    _ct_mon = _ct_sys.monitoring
    _ct_events = _ct_mon.events.PY_START | _ct_mon.events.CALL

    def _ct_on_start(code, offset):
        phase = _ct_state["phase"]
        if phase == "invoke":
            _ct_files.add(code.co_filename)
            return _ct_mon.DISABLE
        if phase == "init":
            body = _ct_body_file(_ct_sys._getframe(1))
            if body is not None and body != code.co_filename:
                _ct_init_code.add((code.co_filename, body))
            return None
        return _ct_mon.DISABLE

    def _ct_on_call(code, offset, obj, arg0):
        phase = _ct_state["phase"]
        if phase is None:
            return None
        name = _ct_callable_module(obj)
        if name is None:
            return None
        if phase == "invoke":
            _ct_modules.add(name)
        else:
            body = _ct_body_file(_ct_sys._getframe(1))
            if body is not None:
                _ct_init_calls.add((name, body))
        return None

    _ct_mon.register_callback(_ct_tool, _ct_mon.events.PY_START, _ct_on_start)
    _ct_mon.register_callback(_ct_tool, _ct_mon.events.CALL, _ct_on_call)

    def _ct_trace(phase):
        _ct_state["phase"] = phase
        if phase is not None:
            _ct_mon.restart_events()
        _ct_mon.set_events(_ct_tool, _ct_events if phase else 0)
else:
    _ct_tracer = "sys.setprofile"

    def _ct_profile(frame, event, arg):
        phase = _ct_state["phase"]
        if event == "call":
            if phase == "invoke":
                _ct_files.add(frame.f_code.co_filename)
            elif phase == "init":
                body = _ct_body_file(frame)
                if body is not None and body != frame.f_code.co_filename:
                    _ct_init_code.add((frame.f_code.co_filename, body))
        elif event == "c_call" and phase is not None:
            name = _ct_callable_module(arg)
            if name is None:
                return
            if phase == "invoke":
                _ct_modules.add(name)
            else:
                body = _ct_body_file(frame)
                if body is not None:
                    _ct_init_calls.add((name, body))

    def _ct_trace(phase):
        # Only this thread, and threads started while tracing: 3.11 has no process-wide hook.
        import threading

        _ct_state["phase"] = phase
        _ct_sys.setprofile(_ct_profile if phase else None)
        threading.setprofile(_ct_profile if phase == "invoke" else None)


def _ct_wrap(handler):
    def _coldprof_traced_handler(event, context):
        _ct_files.clear()
        _ct_modules.clear()
        _ct_trace("invoke")
        try:
            return handler(event, context)
        finally:
            _ct_trace(None)
            _ct_invocations.append({"files": sorted(_ct_files), "modules": sorted(_ct_modules)})
            _ct_write()

    return _coldprof_traced_handler


def _ct_import_handler_module(name):
    _ct_trace("init")
    try:
        __import__(name)
    finally:
        _ct_trace(None)
        _ct_write()
    return _ct_sys.modules[name]


_ct_sys.addaudithook(_ct_audit)
"""

# Runs a script of coldprof.runner.child by path in the function's interpreter, where coldprof is
# not importable; its argument list then reads as the shims' do (sys.argv[1] is the handler).
_RUN_CHILD_SCRIPT = """\
import sys
_path = sys.argv.pop(1)
with open(_path, "rb") as _file:
    _code = compile(_file.read(), _path, "exec")
exec(_code)
"""
LINE_TRACER = Path(__file__).resolve().parent / "child" / "line_tracer.py"

_TRACE_SHIM = (
    USAGE_TRACER
    + """\
import importlib, runpy
_import_module = importlib.import_module
_ct_target = _ct_sys.argv[1].rsplit(".", 1)


class _CtHandlerView:
    # What awslambdaric's getattr(module, name) sees: the module, with the handler wrapped.
    def __init__(self, module, handler):
        self._ct_module = module
        self._ct_handler = handler

    def __getattr__(self, attr):
        if attr == _ct_target[-1]:
            return self._ct_handler
        return getattr(self._ct_module, attr)


def _traced_import_module(name, package=None):
    if package is None and name == _ct_target[0].replace("/", "."):
        module = _ct_import_handler_module(name)
        handler = getattr(module, _ct_target[-1], None)
        if len(_ct_target) != 2 or not callable(handler):
            return module
        return _CtHandlerView(module, _ct_wrap(handler))
    return _import_module(name, package)


importlib.import_module = _traced_import_module
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
"""
)


# -- which runtime client runs the function ------------------------------------------------------
RUNTIME_CLIENT_ENV = "COLDPROF_RUNTIME_CLIENT"
AWSLAMBDARIC = "awslambdaric"
STANDIN = "standin"
STANDIN_LABEL = "coldprof's stand-in"
_STANDIN_PATH = Path(__file__).resolve().parent / "child" / "runtime_standin.py"
_START_AWSLAMBDARIC = 'runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)'


def default_runtime_client() -> str:
    """awslambdaric where it is installed (Linux), else coldprof's stand-in; COLDPROF_RUNTIME_CLIENT
    (`standin` or `awslambdaric`) chooses, so Linux can test the stand-in too."""
    chosen = os.environ.get(RUNTIME_CLIENT_ENV, "").strip().lower()
    if chosen in (STANDIN, AWSLAMBDARIC):
        return chosen
    import importlib.util

    return AWSLAMBDARIC if importlib.util.find_spec("awslambdaric") is not None else STANDIN


def runtime_client_label(client: str) -> str:
    return STANDIN_LABEL if client == STANDIN else client


def runtime_command(spec: EnvironmentSpec) -> list[str]:
    """The interpreter command that starts the runtime client (under a shim, when tracing)."""
    python = [spec.python, "-s", "-S"]
    if spec.runtime_client == STANDIN:
        # By path from -c, not as a script: a script's folder (coldprof's) would lead sys.path.
        start = f"import runpy; runpy.run_path({str(_STANDIN_PATH)!r}, run_name='__main__')"
    else:
        start = _START_AWSLAMBDARIC
    if spec.lines_config is not None:
        child = _RUN_CHILD_SCRIPT
        if spec.runtime_client == STANDIN:  # the tracer ends by starting awslambdaric: not here
            child = child.replace(
                "_file.read()",
                f"_file.read().replace({_START_AWSLAMBDARIC.encode()!r}, {start.encode()!r})",
            )
        return [*python, "-c", child, str(LINE_TRACER), spec.handler]
    if spec.trace_file is not None:
        return [*python, "-c", _TRACE_SHIM.replace(_START_AWSLAMBDARIC, start), spec.handler]
    if spec.importtime:
        return [*python, "-c", _IMPORTTIME_SHIM.replace(_START_AWSLAMBDARIC, start), spec.handler]
    if spec.runtime_client == STANDIN:
        return [*python, "-c", start, spec.handler]
    return [*python, "-m", "awslambdaric", spec.handler]


class ResourceLimits(Protocol):
    """CPU and memory limits applied to one environment's process (the emulator's cgroups)."""

    def attach(self, pid: int) -> None: ...

    def on_init_done(self) -> None: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything that decides how one cold start runs."""

    handler: str
    task_root: Path
    runtime_dir: Path
    layers: tuple[Path, ...] = ()
    python: str = sys.executable
    user_env: Mapping[str, str] = field(default_factory=dict)
    function_name: str = "coldprof-function"
    memory_mb: int = MB_PER_VCPU
    timeout_s: float = 30.0
    region: str = DEFAULT_REGION
    init_limit_s: float = INIT_LIMIT_S
    importtime: bool = False
    pycache_prefix: Path | None = None
    log_format: str = "Text"
    merge_stderr: bool = True  # one ordered log stream; importtime needs stderr apart
    wrapper: tuple[str, ...] = ()  # a command the runtime runs under, e.g. py-spy record --
    trace_file: Path | None = None  # the advisor's usage trace (USAGE_TRACER) goes here
    lines_config: Path | None = None  # the line tracer's files and output (child/line_tracer.py)
    runtime_client: str = field(default_factory=default_runtime_client)
    python_version: str = ""  # "3.12" of ``python``; "" when it is coldprof's own
    # "host": the directories as they are; "lambda": a private mount namespace with the package
    # at /var/task, layers at /opt and an empty /tmp; "copy": task_root is already a read-only
    # copy, and each cold start gets a TMPDIR of its own (see lambda_fs).
    filesystem: str = lambda_fs.HOST

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{DEFAULT_ACCOUNT}:function:{self.function_name}"

    @property
    def minor_version(self) -> str:
        return self.python_version or f"{sys.version_info[0]}.{sys.version_info[1]}"


def layer_paths(layer: Path, version: str = "") -> list[Path]:
    """The sys.path entries a layer adds, as /opt/python and its site-packages do on Lambda."""
    version = version or f"{sys.version_info[0]}.{sys.version_info[1]}"
    entries = [layer]
    python_dir = layer / "python"
    if python_dir.is_dir():
        entries.insert(0, python_dir)
        version_dir = python_dir / "lib" / f"python{version}"
        if (version_dir / "site-packages").is_dir():
            entries.insert(0, version_dir / "site-packages")
    return entries


def python_path(spec: EnvironmentSpec) -> list[Path]:
    """Lambda's order: the task root, then layers, then the runtime's own directory."""
    if spec.filesystem == lambda_fs.LAMBDA:
        # Where the launcher mounts them; the layers are merged at /opt.
        entries = [Path(lambda_fs.TASK_ROOT)]
        opt = Path(lambda_fs.LAYERS_DIR)
        for layer in spec.layers:
            for entry in layer_paths(layer, spec.minor_version):
                seen = opt / entry.relative_to(layer)
                if seen not in entries:
                    entries.append(seen)
        entries.append(Path(lambda_fs.RUNTIME_DIR))
        return entries
    entries = [spec.task_root]
    for layer in spec.layers:
        entries.extend(layer_paths(layer, spec.minor_version))
    entries.append(spec.runtime_dir)
    return entries


def seen_task_root(spec: EnvironmentSpec) -> Path:
    """The task root as the function sees it: /var/task in Lambda's filesystem."""
    return Path(lambda_fs.TASK_ROOT) if spec.filesystem == lambda_fs.LAMBDA else spec.task_root


def build_env(spec: EnvironmentSpec, runtime_api: str, scratch: Path) -> dict[str, str]:
    """The process environment: built from scratch, never inherited from the developer's shell."""
    version = spec.minor_version
    in_lambda_fs = spec.filesystem == lambda_fs.LAMBDA
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "HOME": str(scratch),
        "LAMBDA_TASK_ROOT": str(seen_task_root(spec)),
        "LAMBDA_RUNTIME_DIR": lambda_fs.RUNTIME_DIR if in_lambda_fs else str(spec.runtime_dir),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"coldprof/[$LATEST]{uuid.uuid4().hex}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        # botocore must not read the developer's ~/.aws files nor ask the instance metadata service.
        "AWS_CONFIG_FILE": str(scratch / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(str(p) for p in python_path(spec)),
        # /var/task is read-only on Lambda: never write bytecode into the user's package.
        "PYTHONDONTWRITEBYTECODE": "1",
        **_DUMMY_CREDENTIALS,
    }
    if spec.log_format.upper() == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    if spec.importtime:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    if spec.pycache_prefix is not None:
        prefix = lambda_fs.PYCACHE_DIR if in_lambda_fs else str(spec.pycache_prefix)
        env["PYTHONPYCACHEPREFIX"] = prefix
    if spec.filesystem == lambda_fs.COPY:
        # The machine's /tmp is shared: each cold start gets an empty folder of its own.
        tmp = scratch / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = env["TMP"] = env["TEMP"] = str(tmp)
    if spec.trace_file is not None:
        env["COLDPROF_TRACE_FILE"] = str(spec.trace_file)
    if spec.lines_config is not None:
        env["COLDPROF_LINES_CONFIG"] = str(spec.lines_config)
    env.update(spec.user_env)
    return env


class OutputCapture:
    """Reads a child's pipe on a thread, so the child never blocks on a full pipe."""

    def __init__(self, stream: object) -> None:
        self._fd = stream.fileno()  # type: ignore[attr-defined]
        self._stream = stream
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd], [], [], 0.05)
                if not ready:
                    continue
                with self._lock:
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        break
                    self._buf.extend(chunk)
        except (OSError, ValueError):
            pass
        finally:
            self._done.set()

    def mark(self) -> int:
        """Offset of everything written so far; the writer must be idle (blocked in /next)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not self._done.is_set():
            with self._lock:
                try:
                    readable = select.select([self._fd], [], [], 0)[0]
                except (OSError, ValueError):
                    readable = []
                if not readable:
                    return len(self._buf)
            time.sleep(0.002)
        with self._lock:
            return len(self._buf)

    def finish(self, timeout: float = 2.0) -> None:
        self._done.wait(timeout)
        with contextlib.suppress(OSError):
            self._stream.close()  # type: ignore[attr-defined]

    def text(self, start: int = 0, end: int | None = None) -> str:
        with self._lock:
            return bytes(self._buf[start:end]).decode("utf-8", "replace")


@dataclass(frozen=True)
class InitOutcome:
    """How one init ended."""

    ok: bool
    init_ms: float
    status: str  # "ok", "error", "timeout", "exited"
    error: Mapping[str, object] | None = None
    returncode: int | None = None
    # Bytes the runtime read from storage rather than the page cache during init (Linux task
    # I/O accounting); None where that cannot be seen.
    disk_read_bytes: int | None = None
    # The runtime's CPU time, reads and shared libraries at the end of init (the features of
    # the Lambda estimate); None where not measured.
    process: ProcessSample | None = None
    # Time from spawn to the runtime's exec spent laying out Lambda's filesystem (not init).
    setup_ms: float | None = None

    @property
    def describe(self) -> str:
        if self.ok:
            return "ok"
        if self.status == "timeout":
            return f"init ran past the {self.init_ms / 1000:.0f} s init limit"
        if self.error:
            return f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"
        return f"runtime exited during init ({exit_reason(self.returncode)})"


@dataclass(frozen=True)
class InvokeOutcome:
    """How one invocation ended, with what the function printed meanwhile."""

    request_id: str
    ok: bool
    payload: bytes
    duration_ms: float
    max_memory_mb: int
    log: str
    error_type: str | None = None  # e.g. "Unhandled" errors carry the payload's errorType
    status: str = "ok"  # "ok", "error", "timeout", "exited"


def exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"signal: {signal.Signals(-returncode).name.removeprefix('SIG').lower()}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def _disk_read_bytes(pid: int) -> int | None:
    """What a live process has read from storage so far (/proc/PID/io's read_bytes, which
    counts only reads the page cache could not serve), or None where the kernel does not say."""
    try:
        accounting = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return None
    for line in accounting.splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return None


def _minus(total: int | None, before: int) -> int | None:
    return None if total is None else max(0, total - before)


def _peak_rss_mb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


class ExecutionEnvironment:
    """A runtime process and its Runtime API: spawn, wait for init, invoke, kill."""

    def __init__(self, spec: EnvironmentSpec, limits: ResourceLimits | None = None) -> None:
        self.spec = spec
        self.limits = limits
        self.api = RuntimeApi()
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout: OutputCapture | None = None
        self.stderr: OutputCapture | None = None
        self.spawned_at = 0.0
        self.init: InitOutcome | None = None
        self.init_log_end: int | None = None  # None until init ends: all output so far is init's
        self.init_stderr_end = 0  # with stderr apart: where init's -X importtime rows end
        self.invocations = 0
        self._exited = threading.Event()
        self._scratch = tempfile.TemporaryDirectory(prefix="coldprof-env-")
        self._killed_for: str | None = None
        self._marker = ""  # NAME=value every process of this environment inherits (reaper.py)
        self._setup_ms: float | None = None
        self._setup = lambda_fs.LauncherCost()  # the launcher's own work, before the exec

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> InitOutcome:
        """Spawn the runtime and wait for the end of init (its first /next) or its failure."""
        self.api.start()
        env = build_env(self.spec, self.api.address, Path(self._scratch.name))
        self._marker = f"AWS_LAMBDA_RUNTIME_API={env['AWS_LAMBDA_RUNTIME_API']}"
        become_subreaper()
        cmd = [*self.spec.wrapper, *runtime_command(self.spec)]
        in_lambda_fs = self.spec.filesystem == lambda_fs.LAMBDA
        ready_read = ready_write = -1
        popen_cmd = cmd
        if in_lambda_fs:
            cmd[0] = shutil.which(cmd[0]) or cmd[0]  # execve takes no PATH search
            ready_read, ready_write = os.pipe()
            popen_cmd = lambda_fs.launcher_command(
                cmd,
                env,
                self.spec.task_root,
                self.spec.runtime_dir,
                self.spec.layers,
                self.spec.pycache_prefix,
                ready_write,
            )
        try:
            self.proc, self.spawned_at = spawn(
                popen_cmd,
                cwd=self.spec.task_root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if self.spec.merge_stderr else subprocess.PIPE,
                start_new_session=True,
                pass_fds=(ready_write,) if in_lambda_fs else (),
            )
        except OSError as e:
            self.api.close()
            if in_lambda_fs:
                os.close(ready_read)
                os.close(ready_write)
            raise OSError(f"could not start {self.spec.python}: {e}") from e
        if in_lambda_fs:
            os.close(ready_write)
            try:
                exec_at, self._setup = lambda_fs.read_ready(ready_read, self.proc)
            except lambda_fs.FilesystemError as e:
                self.kill()
                raise OSError(f"could not lay out Lambda's filesystem: {e}") from e
            # Init starts at the runtime's exec: the namespace set-up before it is not init.
            self._setup_ms = (exec_at - self.spawned_at) * 1000
            self.spawned_at = exec_at
        if self.limits is not None:
            self.limits.attach(self.proc.pid)
        self.stdout = OutputCapture(self.proc.stdout)
        if not self.spec.merge_stderr:
            self.stderr = OutputCapture(self.proc.stderr)
        threading.Thread(target=self._watch_exit, daemon=True).start()
        self.init = self._wait_init()
        if self.init.ok:
            self.init_log_end = self.stdout.mark()
            self.init_stderr_end = self.stderr_mark()
            if self.limits is not None:
                self.limits.on_init_done()
        return self.init

    def _watch_exit(self) -> None:
        assert self.proc is not None
        self.proc.wait()
        self._exited.set()
        self.api.ready.set()

    def _process_sample(self) -> ProcessSample:
        """The runtime's totals at the end of init, less what the launcher of Lambda's
        filesystem spent before its exec (CPU, reads); the package's .so files where the
        process maps them (/var/task and /opt in Lambda's filesystem)."""
        assert self.proc is not None
        spec, setup = self.spec, self._setup
        layers = (
            [Path(lambda_fs.LAYERS_DIR)] if spec.filesystem == lambda_fs.LAMBDA else spec.layers
        )
        sample = procstat.sample(self.proc.pid, (seen_task_root(spec), *layers))
        cpu = sample.cpu_ms
        return replace(
            sample,
            cpu_ms=None if cpu is None else round(max(0.0, cpu - setup.cpu_ms), 3),
            read_chars=_minus(sample.read_chars, setup.read_chars),
            read_calls=_minus(sample.read_calls, setup.read_calls),
            disk_read_bytes=_minus(sample.disk_read_bytes, setup.disk_read_bytes),
        )

    def _wait_init(self) -> InitOutcome:
        deadline = self.spawned_at + self.spec.init_limit_s
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self.api.ready.wait(min(remaining, 0.5)):
                break
        api = self.api
        if api.first_next_at is not None and api.init_error is None:
            assert self.proc is not None
            return InitOutcome(
                True,
                (api.first_next_at - self.spawned_at) * 1000,
                "ok",
                disk_read_bytes=_minus(
                    _disk_read_bytes(self.proc.pid), self._setup.disk_read_bytes
                ),
                process=self._process_sample(),
                setup_ms=self._setup_ms,
            )
        elapsed = (time.perf_counter() - self.spawned_at) * 1000
        if api.init_error is not None:
            self._exited.wait(2.0)  # awslambdaric exits right after posting the error
            return InitOutcome(False, elapsed, "error", api.init_error, self._returncode())
        if self._exited.is_set():
            return InitOutcome(False, elapsed, "exited", None, self._returncode())
        self.kill()
        return InitOutcome(False, self.spec.init_limit_s * 1000, "timeout", None, None)

    def _returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the runtime and everything it started, then release the API and limits."""
        if self.proc is not None:
            # Even when the runtime has exited: what it forked may live on (reaper.py).
            self._kill_processes()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self.api.close()
        for capture in (self.stdout, self.stderr):
            if capture is not None:
                capture.finish()
        if self.limits is not None:
            self.limits.release()
        self._scratch.cleanup()

    def kill_for(self, reason: str) -> None:
        """Kill from outside (a memory watchdog), remembering why for the invoke's error."""
        self._killed_for = reason
        if self.proc is not None:
            self._kill_processes()

    def _kill_processes(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        running = self.proc.poll() is None  # else its pid may already be another process's
        if self._marker:
            kill_environment(self.proc.pid if running else None, self._marker)

    # -- output ----------------------------------------------------------------------------
    def init_output(self) -> str:
        """What the runtime printed during init (stdout, and stderr when merged)."""
        # An init that printed nothing ends at offset 0, which must not read as "no end yet".
        return self.stdout.text(0, self.init_log_end) if self.stdout else ""

    def stderr_text(self, start: int = 0, end: int | None = None) -> str:
        return self.stderr.text(start, end) if self.stderr else ""

    def stderr_mark(self) -> int:
        """Offset of everything the runtime has written to stderr so far (it must be idle)."""
        return self.stderr.mark() if self.stderr else 0

    def peak_rss_mb(self) -> int:
        return _peak_rss_mb(self.proc.pid) if self.proc is not None else 0

    # -- invoke ----------------------------------------------------------------------------
    def invoke(
        self,
        payload: bytes,
        request_id: str | None = None,
        timeout_s: float | None = None,
        client_context: str | None = None,
    ) -> InvokeOutcome:
        """Hand one event to the waiting runtime and wait for its response, or time out."""
        if not self.alive or self.stdout is None:
            raise RuntimeError("the environment is not running")
        timeout = self.spec.timeout_s if timeout_s is None else timeout_s
        request_id = request_id or str(uuid.uuid4())
        log_start = self.stdout.mark()
        started = time.perf_counter()
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int((time.time() + timeout) * 1000),
            function_arn=self.spec.function_arn,
            client_context=client_context,
        )
        box = self.api.submit(invocation)
        outcome: InvocationOutcome | None = None
        deadline = started + timeout
        while outcome is None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self._exited.is_set():
                break
            with contextlib.suppress(Exception):
                outcome = box.get(timeout=min(remaining, 0.05))
        self.invocations += 1
        if outcome is not None:
            duration = (outcome.finished_at - started) * 1000
            log = self.stdout.text(log_start, self.stdout.mark())
            error_type = None
            if not outcome.ok:
                error_type = outcome.error_type or _error_type(outcome.body)
            return InvokeOutcome(
                request_id,
                outcome.ok,
                outcome.body,
                duration,
                self.peak_rss_mb(),
                log,
                error_type,
                "ok" if outcome.ok else "error",
            )
        duration = (time.perf_counter() - started) * 1000
        memory = self.peak_rss_mb()
        if self._exited.is_set() or self._killed_for:
            if self.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)  # the exit status says why it died
            reason = self._killed_for or exit_reason(self._returncode())
            log = self.stdout.text(log_start)
            body = {
                "errorType": "Runtime.OutOfMemory"
                if self._killed_for == "memory"
                else "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                + ("signal: killed" if self._killed_for else reason),
            }
            self.kill()
            return InvokeOutcome(
                request_id,
                False,
                json.dumps(body).encode(),
                duration,
                memory,
                log,
                body["errorType"],
                "exited",
            )
        log = self.stdout.text(log_start)
        self.kill()
        body = {
            "errorMessage": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
            f"{request_id} Task timed out after {timeout:.2f} seconds"
        }
        return InvokeOutcome(
            request_id,
            False,
            json.dumps(body).encode(),
            duration,
            memory,
            log,
            "Sandbox.Timedout",
            "timeout",
        )


def _error_type(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("errorType") if isinstance(parsed, dict) else None
