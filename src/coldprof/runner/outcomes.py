"""How an init or an invocation ended, and the error bodies Lambda gives a failed invocation."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass

from coldprof.runner.procstat import ProcessSample
from coldprof.runner.runtime_api import InvocationOutcome


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


def error_type(body: bytes) -> str | None:
    """The errorType of a function's error response, where it is JSON that has one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("errorType") if isinstance(parsed, dict) else None


def answered(
    request_id: str, outcome: InvocationOutcome, duration_ms: float, memory_mb: int, log: str
) -> InvokeOutcome:
    """The function answered: its response, or the error it posted."""
    kind = None if outcome.ok else (outcome.error_type or error_type(outcome.body))
    status = "ok" if outcome.ok else "error"
    return InvokeOutcome(
        request_id, outcome.ok, outcome.body, duration_ms, memory_mb, log, kind, status
    )


def exited(
    request_id: str,
    killed_for: str | None,
    returncode: int | None,
    duration_ms: float,
    memory_mb: int,
    log: str,
) -> InvokeOutcome:
    """The runtime died during the invocation: by itself, or killed (for its memory)."""
    reason = "signal: killed" if killed_for else exit_reason(returncode)
    body = {
        "errorType": "Runtime.OutOfMemory" if killed_for == "memory" else "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
    }
    return InvokeOutcome(
        request_id,
        False,
        json.dumps(body).encode(),
        duration_ms,
        memory_mb,
        log,
        body["errorType"],
        "exited",
    )


def timed_out(
    request_id: str, timeout_s: float, duration_ms: float, memory_mb: int, log: str
) -> InvokeOutcome:
    """The invocation ran past the function's timeout."""
    body = {
        "errorMessage": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
        f"{request_id} Task timed out after {timeout_s:.2f} seconds"
    }
    return InvokeOutcome(
        request_id,
        False,
        json.dumps(body).encode(),
        duration_ms,
        memory_mb,
        log,
        "Sandbox.Timedout",
        "timeout",
    )
