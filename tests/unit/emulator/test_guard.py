"""Tests for coldprof.emulator.guard: which requests the emulator refuses, and why."""

from __future__ import annotations

import pytest

from coldprof.emulator.guard import check_request

SIGNED = {"host": "127.0.0.1:9001", "authorization": "AWS4-HMAC-SHA256 Credential=x"}


def _code(operation: str = "ListFunctions", method: str = "GET", **headers: str) -> str | None:
    refusal = check_request(operation, method, {**SIGNED, **headers}, b"{}", 9001, True)
    return refusal.code if refusal is not None else None


def test_a_signed_api_client_on_our_address_is_served() -> None:
    assert _code() is None
    assert _code(host="localhost:9001") is None
    assert _code(host="[::1]:9001") is None
    assert _code(host="127.0.0.1") is None


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"origin": "https://page.example"}, "AccessDeniedException"),
        ({"host": "rebind.example:9001"}, "AccessDeniedException"),
        ({"host": "127.0.0.1:9002"}, "AccessDeniedException"),
        ({"authorization": "Bearer x"}, "MissingAuthenticationTokenException"),
    ],
)
def test_what_a_web_page_could_send_is_refused(headers: dict[str, str], code: str) -> None:
    assert _code(**headers) == code


def test_a_json_operation_needs_a_json_content_type() -> None:
    assert _code("CreateFunction", "POST", **{"content-type": "text/plain"}) == (
        "UnsupportedMediaTypeException"
    )
    assert _code("CreateFunction", "POST", **{"content-type": "application/json"}) is None
    assert (
        _code("FilterLogEvents", "POST", **{"content-type": "application/x-amz-json-1.1"}) is None
    )
    # Invoke's body is the function's payload: any content type, or none.
    assert _code("Invoke", "POST", **{"content-type": "text/plain"}) is None


def test_the_code_download_needs_no_signature_and_no_auth_serves_unsigned() -> None:
    unsigned = {"host": "127.0.0.1:9001"}
    assert check_request("DownloadCode", "GET", unsigned, b"", 9001, True) is None
    assert check_request("ListFunctions", "GET", unsigned, b"", 9001, False) is None
    refusal = check_request("ListFunctions", "GET", unsigned, b"", 9001, True)
    assert refusal is not None and refusal.status == 403
