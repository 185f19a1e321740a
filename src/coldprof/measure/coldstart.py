"""One cold start in a fresh environment: its init time, import trace, and first event."""

from __future__ import annotations

import json
from dataclasses import dataclass

from coldprof.measure import importtime
from coldprof.results.analyze import InitFailure
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.function_output import readable
from coldprof.runner.procstat import ProcessSample
from coldprof.runner.spec import EnvironmentSpec

TRACED_INIT_SLOWDOWN = 6  # how much longer than --init-limit a traced init may take


@dataclass(frozen=True)
class EventTimes:
    """The first --event run twice right after a timed init, in the same environment."""

    first_ms: float
    warm_ms: float | None  # None when the first failed (the second is not run)
    imports: importtime.ImportTrace  # what the first invocation imported
    error: str | None = None  # how the handler failed


@dataclass(frozen=True)
class ColdStart:
    """One measured init: its duration and the import trace it printed."""

    init_ms: float
    trace: importtime.ImportTrace
    disk_read_bytes: int | None = None  # None: not observable here
    events: EventTimes | None = None
    process: ProcessSample | None = None  # CPU time, reads, libraries at the end of init


def function_output(environment: ExecutionEnvironment) -> str:
    """What the function printed, without the -X importtime rows that share its stderr."""
    stderr = "\n".join(
        line for line in environment.stderr_text().splitlines() if "import time:" not in line
    )
    output = "\n".join(
        part for part in (environment.init_output().rstrip(), stderr.rstrip()) if part
    )
    return readable(output)


def _invoke_error(payload: bytes, status: str) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("errorType") or body.get("errorMessage")):
        return f"{body.get('errorType') or 'Error'}: {body.get('errorMessage') or ''}".rstrip(": ")
    return status


def _event_twice(environment: ExecutionEnvironment, payload: bytes) -> EventTimes:
    """The cold invocation, then a warm one; -X importtime rows between marks are the first's."""
    start = environment.stderr_mark()
    first = environment.invoke(payload)
    imports = importtime.parse(environment.stderr_text(start, environment.stderr_mark()))
    if not first.ok:
        return EventTimes(
            first.duration_ms, None, imports, _invoke_error(first.payload, first.status)
        )
    warm = environment.invoke(payload)
    if not warm.ok:
        error = _invoke_error(warm.payload, warm.status)
        return EventTimes(first.duration_ms, None, imports, f"the second invocation: {error}")
    return EventTimes(first.duration_ms, warm.duration_ms, imports)


def cold_start(
    spec: EnvironmentSpec, event: bytes | None = None
) -> tuple[ColdStart, InitFailure | None]:
    """Spawn one environment, wait for the end of its init (then, given an event, invoke it
    twice), kill it; report how init went."""
    environment = ExecutionEnvironment(spec)
    events = None
    try:
        outcome = environment.start()
        if outcome.ok and event is not None:
            events = _event_twice(environment, event)
    finally:
        environment.kill()
    trace = importtime.parse(environment.stderr_text(0, environment.init_stderr_end or None))
    failure = None
    if not outcome.ok:
        error = outcome.error or {}
        failure = InitFailure(
            status=outcome.status,
            error_type=str(error["errorType"]) if "errorType" in error else None,
            message=outcome.describe,
            output=function_output(environment),
        )
    start = ColdStart(outcome.init_ms, trace, outcome.disk_read_bytes, events, outcome.process)
    return start, failure


def traced_init_limit(spec: EnvironmentSpec) -> float:
    """The init limit of a traced (line or usage) cold start."""
    # Tracing slows init down and a traced start is not timed: Lambda's limit does not apply.
    return max(spec.init_limit_s * TRACED_INIT_SLOWDOWN, 60.0)
