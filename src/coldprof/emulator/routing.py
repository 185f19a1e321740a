"""HTTP routing: a request's method and path to its API operation, and errors to responses."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

from coldprof.emulator import fields
from coldprof.emulator.guard import check_request
from coldprof.emulator.operations import code, configuration, functions, invoke, logs, versions
from coldprof.emulator.registry import parse_function_ref
from coldprof.emulator.responses import ApiError, Response, error_response
from coldprof.emulator.service import Emulator
from coldprof.lambda_facts import DEFAULT_REGION

_FN = r"/2015-03-31/functions/(?P<fn>[^/?]+)"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern + "/?$"), operation)
    for method, pattern, operation in (
        ("POST", r"/2015-03-31/functions", "CreateFunction"),
        ("GET", r"/2015-03-31/functions", "ListFunctions"),
        ("GET", _FN, "GetFunction"),
        ("DELETE", _FN, "DeleteFunction"),
        ("GET", _FN + "/configuration", "GetFunctionConfiguration"),
        ("PUT", _FN + "/configuration", "UpdateFunctionConfiguration"),
        ("PUT", _FN + "/code", "UpdateFunctionCode"),
        ("POST", _FN + "/versions", "PublishVersion"),
        ("GET", _FN + "/versions", "ListVersionsByFunction"),
        ("POST", _FN + "/invocations", "Invoke"),
        ("GET", r"/coldprof/code/(?P<fn>[^/]+)/(?P<package>[\w-]+)\.zip", "DownloadCode"),
    )
)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the server read it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    port: int = 0  # the port it arrived on: the only one a Host header may name


def dispatch(emulator: Emulator, request: Request) -> Response:
    """Route one API request to its operation; errors become Lambda-shaped responses."""
    request_id = str(uuid.uuid4())
    try:
        response = _route(emulator, request)
    except ApiError as e:
        return error_response(e, {"x-amzn-RequestId": request_id})
    headers = dict(response.headers)
    headers.setdefault("x-amzn-RequestId", request_id)
    return replace(response, headers=headers)


def _route(emulator: Emulator, request: Request) -> Response:
    target = request.headers.get("x-amz-target", "")
    if request.method == "POST" and request.path in ("", "/") and target:
        return _logs_operation(emulator, request, target)
    for method, pattern, operation in _ROUTES:
        match = pattern.match(request.path)
        if match is None or method != request.method:
            continue
        _check(emulator, request, operation)
        return _lambda_operation(emulator, request, operation, match)
    _check(emulator, request, "")
    raise ApiError(
        "UnknownOperationException",
        f"the coldprof emulator does not implement {request.method} {request.path}",
    )


def _lambda_operation(
    emulator: Emulator, request: Request, operation: str, match: re.Match[str]
) -> Response:
    query = request.query
    ref = None
    if "fn" in match.groupdict():
        ref = parse_function_ref(unquote(match["fn"]))
        if ref.region is None:
            ref = replace(ref, region=signing_region(request.headers))
    if operation == "Invoke":
        assert ref is not None
        return invoke.invoke(emulator, ref, query, request.headers, request.body)
    if operation == "DownloadCode":
        return code.download_code(emulator, unquote(match["fn"]), match["package"])
    body = fields.json_body(request.body) if request.method in ("POST", "PUT") else {}
    if operation == "CreateFunction":
        return functions.create_function(emulator, body, signing_region(request.headers))
    if operation == "ListFunctions":
        return functions.list_functions(emulator, query)
    assert ref is not None
    if operation == "GetFunction":
        return functions.get_function(emulator, ref, query, request.headers.get("host", ""))
    if operation == "DeleteFunction":
        return functions.delete_function(emulator, ref, query)
    if operation == "GetFunctionConfiguration":
        return configuration.get_configuration(emulator, ref, query)
    if operation == "UpdateFunctionConfiguration":
        return configuration.update_configuration(emulator, ref, body)
    if operation == "UpdateFunctionCode":
        return code.update_code(emulator, ref, body)
    if operation == "PublishVersion":
        return versions.publish_version(emulator, ref, body)
    return versions.list_versions(emulator, ref, query)


def _logs_operation(emulator: Emulator, request: Request, target: str) -> Response:
    """A CloudWatch Logs call (JSON 1.1), answered from the emulator's log store."""
    operation = target.removeprefix(logs.TARGET_PREFIX)
    _check(emulator, request, operation)
    try:
        if not target.startswith(logs.TARGET_PREFIX):
            raise logs.LogsApiError(
                "UnknownOperationException", f"the coldprof emulator does not serve {target}"
            )
        return logs.handle(emulator.logs, operation, fields.json_body(request.body))
    except ApiError as e:  # a body that is not a JSON object
        return logs.LogsApiError("InvalidParameterException", e.message).response()
    except logs.LogsApiError as e:
        return e.response()


def _check(emulator: Emulator, request: Request, operation: str) -> None:
    refusal = check_request(
        operation,
        request.method,
        request.headers,
        request.body,
        request.port,
        emulator.options.require_auth,
    )
    if refusal is not None:
        raise ApiError(refusal.code, refusal.message)


def signing_region(headers: Mapping[str, str]) -> str:
    """The region the client signed for: any region is accepted, and echoed in ARNs."""
    match = re.search(
        r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/lambda/", headers.get("authorization", "")
    )
    return match.group(1) if match else DEFAULT_REGION
