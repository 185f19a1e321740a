"""The emulator serves API clients on this machine and refuses what a web page could send."""

from __future__ import annotations

import base64
import http.client
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from coldprof.emulator.server import LocalLambda

ROLE = "arn:aws:iam::123456789012:role/coldprof-test"
SIGNED = "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/lambda/aws4_request, Signature=0"


def client_for(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with LocalLambda(update_seconds=0.0) as url:
        yield url


def _zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, source)
    return buffer.getvalue()


def _zip() -> bytes:
    return _zip_of({"app.py": "def handler(event, context):\n    return 1\n"})


def _create_body(name: str) -> bytes:
    return json.dumps(
        {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "app.handler",
            "Code": {"ZipFile": base64.b64encode(_zip()).decode()},
        }
    ).encode()


def _raw(
    url: str, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, {
            "type": response.getheader("x-amzn-ErrorType"),
            **(json.loads(payload) if payload else {}),
        }
    finally:
        conn.close()


def _names(url: str) -> set[str]:
    return {f["FunctionName"] for f in client_for(url).list_functions()["Functions"]}


def test_a_cross_origin_create_function_is_refused(endpoint: str) -> None:
    """What a page in the developer's browser can send without a CORS preflight."""
    name = f"evil-{uuid.uuid4().hex[:8]}"
    status, error = _raw(
        endpoint,
        "POST",
        "/2015-03-31/functions",
        _create_body(name),
        {"Content-Type": "text/plain", "Origin": "https://attacker.example"},
    )
    assert (status, error["type"]) == (403, "AccessDeniedException")
    assert "Origin" in error["message"]
    assert name not in _names(endpoint)


def test_a_dns_rebinding_host_is_refused(endpoint: str) -> None:
    port = endpoint.rsplit(":", 1)[1]
    status, error = _raw(
        endpoint,
        "GET",
        "/2015-03-31/functions",
        b"",
        {"Host": f"rebind.attacker.example:{port}", "Authorization": SIGNED},
    )
    assert (status, error["type"]) == (403, "AccessDeniedException")
    # The same request under the address it listens on is served.
    status, listing = _raw(endpoint, "GET", "/2015-03-31/functions", b"", {"Authorization": SIGNED})
    assert status == 200 and "Functions" in listing


def test_a_json_operation_needs_a_json_body(endpoint: str) -> None:
    name = f"plain-{uuid.uuid4().hex[:8]}"
    status, error = _raw(
        endpoint,
        "POST",
        "/2015-03-31/functions",
        _create_body(name),
        {"Content-Type": "text/plain", "Authorization": SIGNED},
    )
    assert (status, error["type"]) == (415, "UnsupportedMediaTypeException")
    assert name not in _names(endpoint)


def test_an_unsigned_request_is_refused_unless_no_auth(endpoint: str) -> None:
    status, error = _raw(endpoint, "GET", "/2015-03-31/functions", b"", {})
    assert (status, error["type"]) == (403, "MissingAuthenticationTokenException")
    with LocalLambda(require_auth=False) as open_url:
        status, listing = _raw(open_url, "GET", "/2015-03-31/functions", b"", {})
        assert status == 200 and listing["Functions"] == []


def test_boto3_is_served_on_localhost_too(endpoint: str) -> None:
    port = endpoint.rsplit(":", 1)[1]
    assert isinstance(_names(f"http://localhost:{port}"), set)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"GOOD": None}, "must have a string value"),
        ({"GOOD": 5}, "must have a string value"),
        ({"GOOD": "a\u0000b"}, "NUL"),
        ({"X": "one letter"}, "must match"),
        ({"9LIVES": "x"}, "must match"),
    ],
)
def test_environment_is_validated_like_lambda(
    endpoint: str, variables: dict[str, object], expected: str
) -> None:
    name = f"env-{uuid.uuid4().hex[:8]}"
    body = json.loads(_create_body(name))
    body["Environment"] = {"Variables": variables}
    status, error = _raw(
        endpoint,
        "POST",
        "/2015-03-31/functions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": SIGNED},
    )
    assert (status, error["type"]) == (400, "InvalidParameterValueException")
    assert expected in error["message"]
    assert "a\u0000b" not in error["message"] and "one letter" not in error["message"]
    assert name not in _names(endpoint)


def test_a_nul_in_an_environment_value_through_boto3(endpoint: str) -> None:
    with pytest.raises(ClientError) as caught:
        client_for(endpoint).create_function(
            FunctionName=f"nul-{uuid.uuid4().hex[:8]}",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": _zip()},
            Environment={"Variables": {"SECRET": "x\x00y"}},
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
