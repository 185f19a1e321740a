"""The lazy-import advisor's traced cold start: what ran at init and in each invocation.

Run inside the function's interpreter by path (runner/launch.py), where coldprof is not
importable: standard library only, and nothing imported that the runtime would not import (not
even ``__future__``, hence the quoted annotations; typing only for the type checker). It is on
only when EnvironmentSpec.trace_file is set, and records into $COLDPROF_TRACE_FILE as JSON:

- during the handler module's import (init): the code that ran under each module body, so the
  parent can tell a dependency your module-level code calls from one merely imported; and,
  through an audit hook, network connections, DNS look-ups, subprocesses and file opens;
- during each invocation: every code file that ran (PY_START, or 'call' before 3.12) and the
  module of every C function called, so a dependency used only through C still counts.

The handler is wrapped so tracing is on only inside invocations; the file is rewritten after
init and after each invocation, before the response is posted, so the parent can read it then.
The record's reader is coldprof.advisor.report.
"""

import importlib
import os
import runpy
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType, FrameType, ModuleType
    from typing import Any

    Handler = Callable[[object, object], object]

_trace_path = os.environ.pop("COLDPROF_TRACE_FILE", "")
_phase: "list[str | None]" = [None]  # "init", "invoke" or None: what is being traced now
_init_code: "set[tuple[str, str]]" = set()  # (code file, file of the module body it ran under)
_init_calls: "set[tuple[str, str]]" = set()  # (module of a C callable, that module body's file)
_files: "set[str]" = set()
_modules: "set[str]" = set()
_invocations: "list[dict[str, list[str]]]" = []
_network: "list[str]" = []
_dns: "list[str]" = []
_subprocesses: "list[str]" = []
_other_opens: "list[str]" = []
_opens = [0, 0]  # every open, and those of the import system reading .py/.pyc files
_MODULE_FILES = (".py", ".pyc")


def _callable_module(obj: "object") -> "str | None":
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
            return str(owner.__module__)
        return name if isinstance(name, str) else kind.__module__
    except Exception:
        return None


def _body_file(frame: "FrameType | None") -> "str | None":
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


def _audit(event: "str", args: "tuple[Any, ...]") -> None:
    if _phase[0] != "init":
        return
    try:
        if event == "open":
            path = args[0]
            path = os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)
            _opens[0] += 1
            # The import system reads sources and bytecode from its own (frozen) frames.
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith("<frozen importlib") and path.endswith(_MODULE_FILES):
                _opens[1] += 1
            elif len(_other_opens) < 50:
                _other_opens.append(path)
        elif event == "socket.connect" or event == "socket.sendto":
            address = args[1]
            if isinstance(address, tuple) and len(address) >= 2:
                address = f"{address[0]}:{address[1]}"
            _network.append(f"{event.split('.')[1]} {address}")
        elif event == "socket.getaddrinfo":
            _dns.append(f"{args[0]}:{args[1]}")
        elif event in ("socket.gethostbyname", "socket.gethostbyname_ex"):
            _dns.append(str(args[0]))
        elif event == "subprocess.Popen":
            command = args[1]
            if not isinstance(command, (str, bytes)):
                command = " ".join(map(str, command))
            _subprocesses.append(f"subprocess.Popen: {command}")
        elif event == "os.system":
            _subprocesses.append(f"os.system: {args[0]}")
        elif event in ("os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty"):
            _subprocesses.append(f"{event}: {' '.join(map(str, args[:2]))}")
    except Exception:
        pass


def _write() -> None:
    import json

    data = {
        "version": 1,
        "tracer": _tracer,
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "cwd": os.getcwd(),
        "init": {
            "code": sorted(_init_code),
            "calls": sorted(_init_calls),
            "effects": {
                "network": _network,
                "dns": _dns,
                "subprocesses": _subprocesses,
                "opens": _opens[0],
                "module_opens": _opens[1],
                "other_opens": _other_opens,
            },
        },
        "invocations": _invocations,
    }
    temporary = _trace_path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(data, handle)
    os.replace(temporary, _trace_path)


def _claim_tool(monitoring: "Any") -> "int | None":
    # A free sys.monitoring tool id, or None: then the setprofile fallback is used.
    free = [tool for tool in (2, 5, 4, 3) if monitoring.get_tool(tool) is None]
    if not free:
        return None
    monitoring.use_tool_id(free[0], "coldprof")
    return free[0]


# sys.monitoring (3.12+) is not in the stubs of the Python the type checker targets: Any.
_mon: "Any" = getattr(sys, "monitoring", None)
_tool = _claim_tool(_mon) if _mon is not None else None
if _tool is not None:
    _tracer = "sys.monitoring"
    _events = _mon.events.PY_START | _mon.events.CALL

    def _on_start(code: "CodeType", offset: "int") -> "object":
        phase = _phase[0]
        if phase == "invoke":
            _files.add(code.co_filename)
            return _mon.DISABLE
        if phase == "init":
            body = _body_file(sys._getframe(1))
            if body is not None and body != code.co_filename:
                _init_code.add((code.co_filename, body))
            return None
        return _mon.DISABLE

    def _on_call(code: "CodeType", offset: "int", obj: "object", arg0: "object") -> "object":
        phase = _phase[0]
        if phase is None:
            return None
        name = _callable_module(obj)
        if name is None:
            return None
        if phase == "invoke":
            _modules.add(name)
        else:
            body = _body_file(sys._getframe(1))
            if body is not None:
                _init_calls.add((name, body))
        return None

    _mon.register_callback(_tool, _mon.events.PY_START, _on_start)
    _mon.register_callback(_tool, _mon.events.CALL, _on_call)

    def _trace(phase: "str | None") -> None:
        _phase[0] = phase
        if phase is not None:
            _mon.restart_events()
        _mon.set_events(_tool, _events if phase else 0)

else:
    _tracer = "sys.setprofile"

    def _profile(frame: "FrameType", event: "str", arg: "object") -> None:
        phase = _phase[0]
        if event == "call":
            if phase == "invoke":
                _files.add(frame.f_code.co_filename)
            elif phase == "init":
                body = _body_file(frame)
                if body is not None and body != frame.f_code.co_filename:
                    _init_code.add((frame.f_code.co_filename, body))
        elif event == "c_call" and phase is not None:
            name = _callable_module(arg)
            if name is None:
                return
            if phase == "invoke":
                _modules.add(name)
            else:
                body = _body_file(frame)
                if body is not None:
                    _init_calls.add((name, body))

    def _trace(phase: "str | None") -> None:
        # Only this thread, and threads started while tracing: 3.11 has no process-wide hook.
        import threading

        _phase[0] = phase
        sys.setprofile(_profile if phase else None)
        threading.setprofile(_profile if phase == "invoke" else None)


def _wrap(handler: "Handler") -> "Handler":
    def _coldprof_traced_handler(event: "object", context: "object") -> "object":
        _files.clear()
        _modules.clear()
        _trace("invoke")
        try:
            return handler(event, context)
        finally:
            _trace(None)
            _invocations.append({"files": sorted(_files), "modules": sorted(_modules)})
            _write()

    return _coldprof_traced_handler


def _import_handler_module(name: "str") -> "ModuleType":
    _trace("init")
    try:
        __import__(name)
    finally:
        _trace(None)
        _write()
    return sys.modules[name]


sys.addaudithook(_audit)

# -- starting the runtime with the handler wrapped -------------------------------------------------
_import_module = importlib.import_module
_target = sys.argv[1].rsplit(".", 1)


class _HandlerView:
    # What awslambdaric's getattr(module, name) sees: the module, with the handler wrapped.
    def __init__(self, module: "ModuleType", handler: "Handler") -> None:
        self._module = module
        self._handler = handler

    def __getattr__(self, attr: "str") -> "object":
        if attr == _target[-1]:
            return self._handler
        return getattr(self._module, attr)


def _traced_import_module(name: "str", package: "str | None" = None) -> "ModuleType":
    if package is None and name == _target[0].replace("/", "."):
        module = _import_handler_module(name)
        handler = getattr(module, _target[-1], None)
        if len(_target) != 2 or not callable(handler):
            return module
        # awslambdaric only reads the handler off what it gets: the view stands in for the module.
        return _HandlerView(module, _wrap(handler))  # type: ignore[return-value]
    return _import_module(name, package)


importlib.import_module = _traced_import_module
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
