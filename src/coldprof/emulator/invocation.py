"""One invocation run to its end: a warm or new environment, init retried once, log and REPORT."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from coldprof.aws import report as lambda_logs
from coldprof.aws.invocation_log import InvocationLog, LogEvent
from coldprof.emulator.pool import PooledEnvironment
from coldprof.emulator.registry import Function, FunctionSettings
from coldprof.emulator.service import Emulator
from coldprof.lambda_facts import MAX_SYNC_PAYLOAD_BYTES
from coldprof.runner.outcomes import InitOutcome, InvokeOutcome, exit_reason


@dataclass(frozen=True)
class CompletedInvoke:
    """One invocation the emulator ran: what the Invoke API returns, with its log and REPORT."""

    request_id: str
    version: str
    payload: bytes
    log: str
    function_error: str | None
    report: lambda_logs.InvokeReport
    cold: bool
    pid: int | None
    events: tuple[LogEvent, ...] = ()  # the log, event by event, with the time each was written


@dataclass(frozen=True)
class _InitFailure:
    """How one init attempt failed, as the invoke reports it should it be the last attempt."""

    status: str  # "error" or "timeout"
    error_type: str | None
    body: dict[str, Any]
    error_line: str | None
    max_memory_mb: int


def _log_time() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def run(
    emulator: Emulator,
    fn: Function,
    settings: FunctionSettings,
    payload: bytes,
    client_context: str | None = None,
) -> CompletedInvoke:
    """One invocation: take a warm environment or start one, invoke, log, give it back."""
    pool = emulator.pool
    request_id = str(uuid.uuid4())
    log = _new_log(emulator, fn, settings)
    entry = pool.acquire(fn, settings)
    init: InitOutcome | None = None
    retried_init_ms = 0.0
    timeout_s = float(settings.timeout_s)
    if entry is None:
        log.init_start()
        entry, init = pool.spawn(fn, settings, emulator.options.init_limit_s)
        if not init.ok:
            # Lambda retries a failed init once, inside this invocation (a "suppressed init").
            _log_init_failure(emulator, log, entry, init, settings, request_id, "init")
            entry, retry = pool.spawn(fn, settings, timeout_s, retry=True)
            if not retry.ok:
                return _retried_init_failed(emulator, fn, settings, entry, retry, log, request_id)
            retried_init_ms = retry.init_ms
            init = None  # its REPORT carries no Init Duration: the init ran in the invoke
        log.output(entry.env.init_output())
    log.start(request_id)
    try:
        # The function's Timeout covers the whole invoke, a retried init included.
        remaining = max(timeout_s - retried_init_ms / 1000, 0.001)
        outcome = entry.env.invoke(
            payload, request_id, timeout_s=remaining, client_context=client_context
        )
    except RuntimeError:  # killed between acquire and invoke: shutting down or retired
        outcome = InvokeOutcome(request_id, False, b"", 0.0, 0, "", "Runtime.ExitError", "exited")
    result = _finish(emulator, fn, settings, entry, outcome, log, init, retried_init_ms)
    pool.release(fn, entry)
    return result


def _new_log(emulator: Emulator, fn: Function, settings: FunctionSettings) -> InvocationLog:
    actual = emulator.runtimes.resolve(settings.runtime)  # the Python that ran, not the one named
    return InvocationLog(
        function_name=fn.name,
        version=settings.version,
        runtime_version=f"python:{actual.minor}.local",
        runtime_version_arn=(
            f"arn:aws:lambda:{fn.region}::runtime:coldprof-local-python{actual.version}"
        ),
        as_json=settings.log_format == "JSON",
    )


def _log_init_failure(
    emulator: Emulator,
    log: InvocationLog,
    entry: PooledEnvironment,
    init: InitOutcome,
    settings: FunctionSettings,
    request_id: str,
    phase: str,
) -> _InitFailure:
    """Kill the environment whose init failed, and log its output and INIT_REPORT."""
    env = entry.env
    output = env.init_output()
    peak = env.peak_rss_mb()
    emulator.pool.kill(entry)
    peak = peak or entry.limits.peak_mb()  # the runtime has exited: ask its memory cgroup
    oom = entry.limits.oom_killed()
    error_line = None
    error_type: str | None
    if init.status == "error" and init.error:
        posted = init.error.get("errorType")
        error_type = lambda_logs.platform_error_type(posted if isinstance(posted, str) else None)
        body: dict[str, Any] = dict(init.error)
    elif init.status == "timeout":
        # AWS's INIT_REPORT for a timeout names no error type; the invoke's error does.
        error_type = None
        limit = init.init_ms / 1000
        body = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
            f"{limit:.2f} seconds",
        }
        error_line = f"{_log_time()} {request_id} Task timed out after {limit:.2f} seconds"
    else:
        error_type = "Runtime.OutOfMemory" if oom else "Runtime.ExitError"
        reason = "signal: killed" if oom else exit_reason(init.returncode)
        message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
        body = {"errorType": error_type, "errorMessage": message}
        error_line = f"{message}\n{error_type}"
    status = "timeout" if init.status == "timeout" else "error"
    log.output(output)
    log.init_report(lambda_logs.InitReport(init.init_ms, phase, status, error_type))
    max_memory = settings.memory_mb if oom else min(peak, settings.memory_mb)
    return _InitFailure(status, error_type, body, error_line, max_memory)


def _retried_init_failed(
    emulator: Emulator,
    fn: Function,
    settings: FunctionSettings,
    entry: PooledEnvironment,
    retry: InitOutcome,
    log: InvocationLog,
    request_id: str,
) -> CompletedInvoke:
    """The init retried inside the invoke failed too: the invoke fails with its error."""
    failure = _log_init_failure(emulator, log, entry, retry, settings, request_id, "invoke")
    log.start(request_id)
    log.error(failure.error_line)
    report = lambda_logs.InvokeReport(
        request_id=request_id,
        duration_ms=retry.init_ms,
        billed_ms=lambda_logs.billed_ms(retry.init_ms),
        memory_mb=settings.memory_mb,
        max_memory_mb=failure.max_memory_mb,
        status=failure.status,
        error_type=failure.error_type,
    )
    log.end(report)
    _emit(emulator, fn, log, entry, settings)
    return CompletedInvoke(
        request_id,
        settings.version,
        json.dumps(failure.body).encode(),
        log.text(),
        "Unhandled",
        report,
        True,
        None,
        tuple(log.events),
    )


def _finish(
    emulator: Emulator,
    fn: Function,
    settings: FunctionSettings,
    entry: PooledEnvironment,
    outcome: InvokeOutcome,
    log: InvocationLog,
    init: InitOutcome | None,
    retried_init_ms: float = 0.0,
) -> CompletedInvoke:
    env = entry.env
    request_id = outcome.request_id
    pid = env.proc.pid if env.proc is not None else None
    payload = outcome.payload
    error_line = None
    status = None
    error_type = None
    max_memory = outcome.max_memory_mb
    function_error = None if outcome.ok else "Unhandled"
    if outcome.ok and len(payload) > MAX_SYNC_PAYLOAD_BYTES:
        function_error = "Unhandled"
        error_type = "Function.ResponseSizeTooLarge"
        payload = json.dumps(
            {
                "errorType": error_type,
                "errorMessage": "Response payload size exceeded maximum allowed payload "
                f"size ({MAX_SYNC_PAYLOAD_BYTES} bytes).",
            }
        ).encode()
        status = "error"
    if outcome.status == "timeout":
        status = "timeout"
        error_line = (
            f"{_log_time()} {request_id} Task timed out after "
            f"{float(settings.timeout_s):.2f} seconds"
        )
        payload = json.dumps(
            {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                f"{float(settings.timeout_s):.2f} seconds",
            }
        ).encode()
    elif outcome.status == "exited":
        status = "error"
        if entry.limits.oom_killed():
            error_type = "Runtime.OutOfMemory"
            message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
            max_memory = settings.memory_mb
        else:
            error_type = outcome.error_type or "Runtime.ExitError"
            message = _json_field(payload, "errorMessage") or (
                f"RequestId: {request_id} Error: Runtime exited with error"
            )
        payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        error_line = f"{message}\n{error_type}"
    if not max_memory:  # the process is gone: ask its memory cgroup
        max_memory = entry.limits.peak_mb()
    init_ms = init.init_ms if init is not None else None
    duration = retried_init_ms + outcome.duration_ms
    billed = lambda_logs.billed_ms(duration + (init_ms or 0.0))
    report = lambda_logs.InvokeReport(
        request_id=request_id,
        duration_ms=duration,
        billed_ms=billed,
        memory_mb=settings.memory_mb,
        max_memory_mb=min(max_memory, settings.memory_mb),
        init_ms=init_ms,
        status=status,
        error_type=error_type,
    )
    log.output(outcome.log)
    log.error(error_line)
    log.end(report)
    _emit(emulator, fn, log, entry, settings)
    return CompletedInvoke(
        request_id,
        settings.version,
        payload,
        log.text(),
        function_error,
        report,
        init is not None or retried_init_ms > 0,
        pid,
        tuple(log.events),
    )


def _emit(
    emulator: Emulator,
    fn: Function,
    log: InvocationLog,
    entry: PooledEnvironment,
    settings: FunctionSettings,
) -> None:
    """Write the invocation's log to its log group, and echo it to the emulator's own log."""
    for event in log.events:
        emulator.logs.put(settings.log_group, entry.log_stream, event.message, event.timestamp_ms)
        for line in event.message.split("\n"):
            emulator.on_log(f"[{fn.name}] {line}")


def _json_field(payload: bytes, key: str) -> str | None:
    try:
        parsed = json.loads(payload)
    except ValueError:
        return None
    value = parsed.get(key) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None
