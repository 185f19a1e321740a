"""Invoke: RequestResponse, Event and DryRun, a Qualifier's version, and LogType=Tail."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping

from coldprof.emulator import fields, invocation
from coldprof.emulator.registry import PENDING_CONFLICT, Function, FunctionRef, FunctionSettings
from coldprof.emulator.responses import ApiError, Response, invalid
from coldprof.emulator.service import Emulator
from coldprof.lambda_facts import MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES

LOG_TAIL_BYTES = 4 * 1024


def invoke(
    emulator: Emulator,
    ref: FunctionRef,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload: bytes,
) -> Response:
    """Invoke a version; a synchronous invoke answers with the function's payload."""
    invocation_type = headers.get("x-amz-invocation-type") or "RequestResponse"
    if invocation_type not in ("RequestResponse", "Event", "DryRun"):
        raise invalid(f"Unsupported invocation type {invocation_type}")
    qualifier = fields.qualifier(ref, query)
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        settings = fn.settings(qualifier)
        if settings.version == "$LATEST" and fn.state(time.monotonic()) == "Pending":
            raise ApiError("ResourceConflictException", PENDING_CONFLICT)
    limit = MAX_ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else MAX_SYNC_PAYLOAD_BYTES
    if len(payload) > limit:
        raise ApiError(
            "RequestTooLargeException",
            f"{len(payload)} byte payload is too large for the {invocation_type} "
            f"invocation type (limit {limit} bytes)",
        )
    if payload.strip():
        try:
            json.loads(payload)
        except ValueError as e:
            raise ApiError(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {e}",
            ) from e
    else:
        payload = b"{}"
    client_context = fields.client_context(headers.get("x-amz-client-context"))
    base_headers = {"X-Amz-Executed-Version": settings.version}
    if invocation_type == "DryRun":
        return Response(204, b"", base_headers)
    if invocation_type == "Event":
        thread = threading.Thread(
            target=_run_event,
            args=(emulator, fn, settings, payload, client_context),
            daemon=True,
        )
        emulator.pool.begin()
        thread.start()
        return Response(202, b"", base_headers)
    emulator.pool.begin()
    try:
        result = invocation.run(emulator, fn, settings, payload, client_context)
    finally:
        emulator.pool.end()
    response_headers = dict(base_headers)
    response_headers["x-amzn-RequestId"] = result.request_id
    if result.function_error:
        response_headers["X-Amz-Function-Error"] = result.function_error
    if (headers.get("x-amz-log-type") or "None") == "Tail":
        tail = result.log.encode()[-LOG_TAIL_BYTES:]
        response_headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
    return Response(200, result.payload, response_headers)


def _run_event(
    emulator: Emulator,
    fn: Function,
    settings: FunctionSettings,
    payload: bytes,
    context: str | None,
) -> None:
    try:
        invocation.run(emulator, fn, settings, payload, context)
    except Exception as e:  # noqa: BLE001 - a background invoke has no caller to raise to
        emulator.on_log(f"{fn.name}: event invoke failed: {e}")
    finally:
        emulator.pool.end()
