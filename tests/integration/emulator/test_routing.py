"""HTTP routing: paths and methods to operations, request ids, and requests no route takes."""

from __future__ import annotations

import http.client
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lambda_client import PID_HANDLER, create

SIGNED = "AWS4-HMAC-SHA256 Credential=testing/20261129/sa-east-1/lambda/aws4_request, Signature=0"


def _raw(
    url: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Authorization": SIGNED, **(headers or {})})
        response = conn.getresponse()
        payload = response.read()
        document = json.loads(payload) if payload else {}
        return response.status, {k.lower(): v for k, v in response.getheaders()}, document
    finally:
        conn.close()


def test_every_answer_carries_a_request_id(endpoint: str) -> None:
    status, headers, _ = _raw(endpoint, "GET", "/2015-03-31/functions")
    assert status == 200 and headers["x-amzn-requestid"]
    status, headers, error = _raw(endpoint, "GET", "/2015-03-31/functions/nothing-here")
    assert status == 404 and headers["x-amzn-requestid"]
    assert headers["x-amzn-errortype"] == "ResourceNotFoundException" and error["Type"] == "User"
    assert error["Message"] == error["message"]


def test_a_path_or_method_no_route_takes_is_an_unknown_operation(endpoint: str) -> None:
    for method, path in (
        ("GET", "/2015-03-31/layers"),
        ("PUT", "/2015-03-31/functions"),
        ("DELETE", "/2015-03-31/functions"),
        ("GET", "/2015-03-31/functions/fn/invocations"),
    ):
        status, headers, error = _raw(endpoint, method, path)
        assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException"), path
        assert path in error["message"]


def test_a_trailing_slash_and_an_escaped_arn_route_alike(endpoint: str, lam: Any) -> None:
    name = create(lam, PID_HANDLER, wait=False)
    status, _, found = _raw(endpoint, "GET", f"/2015-03-31/functions/{name}/configuration/")
    assert status == 200 and found["FunctionName"] == name
    arn = f"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3A{name}"
    status, _, found = _raw(endpoint, "GET", f"/2015-03-31/functions/{arn}")
    assert status == 200 and found["Configuration"]["FunctionName"] == name


def test_a_malformed_function_name_is_invalid(endpoint: str) -> None:
    status, headers, error = _raw(endpoint, "GET", "/2015-03-31/functions/not.a.name")
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidParameterValueException")
    assert "functionName" in error["message"]


def test_a_body_that_is_not_a_json_object_is_invalid(endpoint: str, lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    json_type = {"Content-Type": "application/json"}
    path = f"/2015-03-31/functions/{name}/configuration"
    for body, message in ((b"{broken", "not JSON"), (b"[1, 2]", "must be a JSON object")):
        status, headers, error = _raw(endpoint, "PUT", path, body, json_type)
        assert (status, headers["x-amzn-errortype"]) == (400, "InvalidParameterValueException")
        assert message in error["message"]


def test_a_body_past_the_upload_limit_is_refused_unread(endpoint: str) -> None:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("POST", "/2015-03-31/functions")
        conn.putheader("Authorization", SIGNED)
        conn.putheader("Content-Length", str(200 * 1024 * 1024))
        conn.endheaders()  # and no body: the emulator must answer without waiting for it
        response = conn.getresponse()
        error = json.loads(response.read())
    finally:
        conn.close()
    assert (response.status, response.getheader("x-amzn-ErrorType")) == (
        413,
        "RequestTooLargeException",
    )
    assert "smaller than" in error["message"]


@pytest.mark.parametrize("region", ["sa-east-1", "ap-southeast-2"])
def test_arns_name_the_region_the_client_signed_for(endpoint: str, region: str) -> None:
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )
    name = create(client, PID_HANDLER, wait=False)
    arn = client.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert arn == f"arn:aws:lambda:{region}:123456789012:function:{name}"
