"""The Runtime API one environment's runtime talks to, driven over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest

from coldprof.runner.runtime_api import Invocation, RuntimeApi

PREFIX = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    with RuntimeApi() as server:
        yield server


def _request(
    api: RuntimeApi,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    host, port = api.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _invocation(request_id: str = "req-1", **fields: object) -> Invocation:
    deadline = int(time.time() * 1000) + 3000
    return Invocation(request_id, b'{"order": 1}', deadline, ARN, **fields)  # type: ignore[arg-type]


def test_it_listens_on_a_loopback_ephemeral_port(api: RuntimeApi) -> None:
    host, port = api.address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0


def test_next_hands_over_the_event_with_the_headers_lambda_sends(api: RuntimeApi) -> None:
    invocation = _invocation(client_context='{"custom": {"a": 1}}')
    api.submit(invocation)
    assert api.first_next_at is None and not api.ready.is_set()
    status, headers, body = _request(api, "GET", f"{PREFIX}/invocation/next")
    assert status == 200 and body == b'{"order": 1}'
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
    assert headers["Lambda-Runtime-Deadline-Ms"] == str(invocation.deadline_ms)
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == ARN
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {"a": 1}}'
    assert headers["Content-Type"] == "application/json"
    # The first /next is the end of init.
    assert api.ready.is_set() and api.first_next_at is not None and api.next_polls == 1


def test_without_a_client_context_no_header_is_sent(api: RuntimeApi) -> None:
    api.submit(_invocation())
    _, headers, _ = _request(api, "GET", f"{PREFIX}/invocation/next")
    assert "Lambda-Runtime-Client-Context" not in headers


def test_next_waits_for_an_event(api: RuntimeApi) -> None:
    answers: list[int] = []
    poller = threading.Thread(
        target=lambda: answers.append(_request(api, "GET", f"{PREFIX}/invocation/next")[0])
    )
    poller.start()
    time.sleep(0.3)
    assert answers == [] and api.ready.is_set()  # polling, blocked: init is over
    api.submit(_invocation())
    poller.join(timeout=10)
    assert answers == [200]


def test_a_response_reaches_the_invoker(api: RuntimeApi) -> None:
    box = api.submit(_invocation())
    _request(api, "GET", f"{PREFIX}/invocation/next")
    before = time.perf_counter()
    status, _, body = _request(api, "POST", f"{PREFIX}/invocation/req-1/response", b'"done"')
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    outcome = box.get(timeout=5)
    assert (outcome.request_id, outcome.ok, outcome.body, outcome.error_type) == (
        "req-1",
        True,
        b'"done"',
        None,
    )
    assert outcome.finished_at >= before
    # One answer per invocation: a second is refused.
    status, _, body = _request(api, "POST", f"{PREFIX}/invocation/req-1/response", b'"again"')
    assert status == 400 and b"unknown request id" in body


def test_an_error_reaches_the_invoker_with_its_type(api: RuntimeApi) -> None:
    box = api.submit(_invocation("req-2"))
    _request(api, "GET", f"{PREFIX}/invocation/next")
    error = b'{"errorType": "KeyError", "errorMessage": "x"}'
    status, _, _ = _request(
        api,
        "POST",
        f"{PREFIX}/invocation/req-2/error",
        error,
        {"Lambda-Runtime-Function-Error-Type": "Runtime.Unknown"},
    )
    assert status == 202
    outcome = box.get(timeout=5)
    assert (outcome.ok, outcome.body, outcome.error_type) == (False, error, "Runtime.Unknown")


def test_an_init_error_is_kept_and_ends_init(api: RuntimeApi) -> None:
    body = b'{"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named app"}'
    status, _, answer = _request(
        api,
        "POST",
        f"{PREFIX}/init/error",
        body,
        {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    assert (status, json.loads(answer)) == (202, {"status": "OK"})
    assert api.ready.is_set() and api.first_next_at is None
    assert api.init_error == json.loads(body)
    assert api.init_error_type == "Runtime.ImportModuleError"


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (b"not json", {"errorMessage": "not json"}),
        (b"[1, 2]", {"errorMessage": "[1, 2]"}),
        (b"", {}),
    ],
)
def test_an_init_error_that_is_not_a_json_object_is_kept_as_a_message(
    api: RuntimeApi, body: bytes, kept: dict[str, str]
) -> None:
    assert _request(api, "POST", f"{PREFIX}/init/error", body)[0] == 202
    assert api.init_error == kept and api.init_error_type is None


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{PREFIX}/invocation/req-1", 404),
        ("GET", "/2018-06-01/runtime/next", 404),
        ("POST", f"{PREFIX}/invocation/req-1/finish", 404),
        ("POST", f"{PREFIX}/invocation/req-1/response/extra", 404),
        ("POST", f"{PREFIX}/invocation/unknown-id/response", 400),
        ("POST", f"{PREFIX}/invocation/unknown-id/error", 400),
        ("POST", "/2018-06-01/extension/register", 404),
    ],
)
def test_bad_requests_are_refused(api: RuntimeApi, method: str, path: str, status: int) -> None:
    answered, _, body = _request(api, method, path, b"{}")
    assert answered == status
    assert json.loads(body)["errorMessage"] in ("unknown path", "unknown request id")


def test_close_releases_a_runtime_blocked_in_next() -> None:
    api = RuntimeApi().start()
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            _request(api, "GET", f"{PREFIX}/invocation/next", timeout=10)
        except (OSError, http.client.HTTPException) as e:
            errors.append(e)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    api.close()
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert time.monotonic() - started < 5
    assert errors  # the connection closed without an answer
    api.close()  # a second close does nothing
