"""The line-by-line traced cold start: time each module-level line of chosen files at init.

Run inside the function's interpreter (coldprof is not importable there), as
``python -c BOOTSTRAP line_tracer.py HANDLER`` with $COLDPROF_LINES_CONFIG naming a JSON file
``{"files": [absolute .py paths], "output": path}``. While the handler module is imported, each
line of a chosen file's module body (its ``<module>`` code, not the functions it defines) is
timed from one line event to the next, less the time spent in nested chosen module bodies,
and the modules that line brought into ``sys.modules`` are listed. sys.monitoring from 3.12
(LINE events on those code objects only); sys.settrace before that. The record is written
before awslambdaric starts its runtime loop.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
import time

# Nothing from typing at run time: importing it would hand the function a typing it did not
# import. These names exist for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType, FrameType, ModuleType
    from typing import Any, TypedDict

    class ModuleTime(TypedDict):
        module: str  # the body's __name__
        ms: float  # its inclusive time

    TraceFunction = Callable[[FrameType, str, object], "TraceFunction | None"]

_config_path = os.environ.pop("COLDPROF_LINES_CONFIG", "")
with open(_config_path) as _handle:
    _config = json.load(_handle)
_targets = {os.path.normpath(f) for f in _config["files"]}
_clock = time.perf_counter
_is_target_cache: dict[str, bool] = {}
_stack: list[_Frame] = []  # one entry per chosen module body running, innermost last
_lines: dict[tuple[str, int], _Line] = {}
_modules: dict[str, ModuleTime] = {}  # by file


def _is_target(code: CodeType) -> bool:
    if code.co_name != "<module>":
        return False
    name = code.co_filename
    found = _is_target_cache.get(name)
    if found is None:
        found = os.path.normpath(os.path.abspath(name)) in _targets
        _is_target_cache[name] = found
    return found


class _Line:
    """Where one module-level line's time went, over every time it ran."""

    __slots__ = ("seconds", "hits", "imported")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.hits = 0
        self.imported: list[str] = []  # modules it brought into sys.modules


class _Frame:
    __slots__ = ("code", "file", "line", "started", "line_started", "nested", "known")

    def __init__(self, code: CodeType, now: float) -> None:
        self.code = code
        self.file = os.path.normpath(os.path.abspath(code.co_filename))
        self.line: int | None = None
        self.started = now
        self.line_started = now
        self.nested = 0.0  # seconds in nested chosen bodies during the current line
        self.known = len(sys.modules)


def _close_line(frame: _Frame, now: float) -> None:
    if frame.line is None:
        return
    entry = _lines.get((frame.file, frame.line))
    if entry is None:
        entry = _lines[(frame.file, frame.line)] = _Line()
    entry.seconds += max(now - frame.line_started - frame.nested, 0.0)
    entry.hits += 1
    if len(sys.modules) > frame.known:
        entry.imported.extend(list(sys.modules)[frame.known :])


def _on_start(code: CodeType, module_name: str) -> None:
    now = _clock()
    _stack.append(_Frame(code, now))
    _modules.setdefault(_stack[-1].file, {"module": module_name, "ms": 0.0})


def _unwind_to(code: CodeType, now: float) -> None:
    # A body that raised left no return event: close it when its caller runs again.
    if not any(frame.code is code for frame in _stack):
        return
    while _stack[-1].code is not code:
        _finish(_stack[-1], now)


def _finish(frame: _Frame, now: float) -> None:
    _close_line(frame, now)
    _stack.pop()
    elapsed = now - frame.started
    _modules[frame.file]["ms"] += elapsed * 1000
    if _stack:
        _stack[-1].nested += elapsed


def _on_line(code: CodeType, line: int) -> None:
    now = _clock()
    _unwind_to(code, now)
    if not _stack:
        return
    frame = _stack[-1]
    _close_line(frame, now)
    frame.line = line
    frame.nested = 0.0
    frame.known = len(sys.modules)
    frame.line_started = _clock()  # the tracer's own time stays out of the line


def _on_return(code: CodeType) -> None:
    now = _clock()
    _unwind_to(code, now)
    if _stack:
        _finish(_stack[-1], now)


def _claim_tool(monitoring: Any) -> int | None:
    free = [t for t in (2, 5, 4, 3) if monitoring.get_tool(t) is None]
    if not free:
        return None
    monitoring.use_tool_id(free[0], "coldprof-lines")
    return free[0]


# sys.monitoring (3.12+) is not in the stubs of the Python the type checker targets: Any.
_monitoring: Any = getattr(sys, "monitoring", None)
_tool = _claim_tool(_monitoring) if _monitoring is not None else None
if _monitoring is not None and _tool is not None:
    _tracer = "sys.monitoring"
    _events = _monitoring.events

    def _mon_start(code: CodeType, offset: int) -> object:
        if not _is_target(code):
            return _monitoring.DISABLE
        _on_start(code, sys._getframe(1).f_globals.get("__name__", ""))
        _monitoring.set_local_events(_tool, code, _events.LINE | _events.PY_RETURN)
        return None

    def _mon_line(code: CodeType, line: int) -> None:
        _on_line(code, line)

    def _mon_return(code: CodeType, offset: int, value: object) -> None:
        _on_return(code)

    _monitoring.register_callback(_tool, _events.PY_START, _mon_start)
    _monitoring.register_callback(_tool, _events.LINE, _mon_line)
    _monitoring.register_callback(_tool, _events.PY_RETURN, _mon_return)

    def _trace(on: bool) -> None:
        _monitoring.set_events(_tool, _events.PY_START if on else 0)
        if on:
            _monitoring.restart_events()

else:
    _tracer = "sys.settrace"

    def _local(frame: FrameType, event: str, arg: object) -> TraceFunction:
        if event == "line":
            _on_line(frame.f_code, frame.f_lineno)
        elif event == "return":  # also when the body raised
            _on_return(frame.f_code)
        return _local

    def _global(frame: FrameType, event: str, arg: object) -> TraceFunction | None:
        if event == "call" and _is_target(frame.f_code):
            _on_start(frame.f_code, frame.f_globals.get("__name__", ""))
            return _local
        return None

    def _trace(on: bool) -> None:
        sys.settrace(_global if on else None)


def _write() -> None:
    now = _clock()
    while _stack:
        _finish(_stack[-1], now)
    data = {
        "version": 1,
        "tracer": _tracer,
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "modules": [{"file": f, **m} for f, m in _modules.items()],
        "lines": [
            {"file": f, "line": n, "ms": e.seconds * 1000, "hits": e.hits, "imported": e.imported}
            for (f, n), e in _lines.items()
        ],
    }
    temporary = _config["output"] + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(data, handle)
    os.replace(temporary, _config["output"])


_import_module = importlib.import_module
_handler_module = sys.argv[1].rsplit(".", 1)[0].replace("/", ".")


def _traced_import_module(name: str, package: str | None = None) -> ModuleType:
    # Through __import__, so -X importtime nests the handler's imports under it (as in the
    # timed runs) and they can be matched with the lines that made them.
    if package is None and name == _handler_module:
        _trace(True)
        try:
            __import__(name)
        finally:
            _trace(False)
            _write()
        return sys.modules[name]
    return _import_module(name, package)


importlib.import_module = _traced_import_module
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
