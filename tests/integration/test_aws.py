"""AWS errors the emulator cannot produce (AccessDenied, throttling), via botocore's Stubber.

Nothing here opens a connection: every response comes from the Stubber.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from coldprof.aws.connection import Connection, LambdaCallError, Redactor, is_loopback_url
from coldprof.aws.lambda_api import LambdaApi
from coldprof.errors import EXIT_FAILED
from coldprof.remote.configuration import restore_command
from coldprof.remote.request import RemoteRequest
from coldprof.remote.sweep import sweep
from coldprof.remote.tier import invoke_outcome

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
SECRET = "pa55word-never-shown"
CONFIG = {
    "FunctionName": "orders",
    "FunctionArn": ARN,
    "Runtime": "python3.12",
    "CodeSize": 2048,
    "MemorySize": 256,
    "Timeout": 9,
    "Description": "orders",
    "Environment": {"Variables": {"DB_PASSWORD": SECRET}},
    "Architectures": ["arm64"],
    "PackageType": "Zip",
    "State": "Active",
    "LastUpdateStatus": "Successful",
}
REPORT = (
    "REPORT RequestId: {id}\tDuration: 12.68 ms\tBilled Duration: 309 ms\tMemory Size: 256 MB\t"
    "Max Memory Used: 80 MB\tInit Duration: 295.33 ms\t"
)


class Clock:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def stubbed() -> Iterator[tuple[LambdaApi, Stubber, Stubber, Clock]]:
    client = boto3.client("lambda", region_name="eu-west-1")
    logs = boto3.client("logs", region_name="eu-west-1")
    clock = Clock()
    api = LambdaApi(Connection(region="eu-west-1"), client=client, logs_client=logs, sleep=clock)
    api.waiter_delay_s = 0.001
    with Stubber(client) as stubber, Stubber(logs) as logs_stubber:
        yield api, stubber, logs_stubber, clock
        stubber.assert_no_pending_responses()
        logs_stubber.assert_no_pending_responses()


def settled(stubber: Stubber, status: str = "Successful") -> None:
    configuration = {"FunctionName": "orders", "LastUpdateStatus": status}
    stubber.add_response("get_function", {"Configuration": configuration})


def test_access_denied_is_one_clear_line_and_not_retried(stubbed: Any) -> None:
    api, stubber, _, clock = stubbed
    stubber.add_client_error(
        "get_function_configuration",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:iam::123456789012:user/ci is not authorized to perform:"
        "\n lambda:GetFunctionConfiguration on resource: orders",
        http_status_code=403,
    )
    with pytest.raises(LambdaCallError) as caught:
        api.snapshot(ARN)
    error = caught.value
    assert error.exit_code == EXIT_FAILED
    assert error.code == "AccessDeniedException" and error.affects_whole_function
    assert "\n" not in error.message  # AWS's line break is folded
    assert error.message.startswith(f"reading the configuration of {ARN}: AccessDeniedException")
    assert error.hint is not None and "permission" in error.hint
    assert clock.sleeps == []


def test_a_throttling_storm_is_retried_with_growing_backoff_then_reported(stubbed: Any) -> None:
    api, stubber, _, clock = stubbed
    settled(stubber)
    for _ in range(api.max_attempts):
        stubber.add_client_error(
            "update_function_configuration",
            service_error_code="TooManyRequestsException",
            service_message="Rate exceeded",
            http_status_code=429,
        )
    with pytest.raises(LambdaCallError) as caught:
        api.update_configuration(ARN, memory_mb=512)
    assert f"gave up after {api.max_attempts} attempts" in caught.value.message
    assert not caught.value.affects_whole_function  # a tier can fail; the sweep goes on
    assert len(clock.sleeps) == api.max_attempts - 1
    # Full jitter in [ceiling/2, ceiling], the ceiling doubling each time.
    for attempt, slept in enumerate(clock.sleeps, start=1):
        ceiling = min(api.max_delay_s, api.base_delay_s * 2 ** (attempt - 1))
        assert ceiling / 2 <= slept <= ceiling


def test_a_conflicting_update_is_retried_until_it_lands(stubbed: Any) -> None:
    api, stubber, _, clock = stubbed
    settled(stubber)
    for _ in range(2):
        stubber.add_client_error(
            "update_function_configuration",
            service_error_code="ResourceConflictException",
            service_message="The operation cannot be performed at this time. An update is in "
            "progress for resource: orders",
            http_status_code=409,
        )
    stubber.add_response(
        "update_function_configuration",
        {"FunctionName": "orders", "LastUpdateStatus": "InProgress"},
        expected_params={
            "FunctionName": ARN,
            "MemorySize": 512,
            "Environment": {"Variables": {"DB_PASSWORD": SECRET, "COLDPROF_NONCE": "n"}},
        },
    )
    settled(stubber, "InProgress")  # the waiter polls until the update is through
    settled(stubber)
    api.update_configuration(
        ARN, memory_mb=512, environment={"DB_PASSWORD": SECRET, "COLDPROF_NONCE": "n"}
    )
    assert len(clock.sleeps) == 2


def test_a_throttled_waiter_is_retried(stubbed: Any) -> None:
    api, stubber, _, clock = stubbed
    stubber.add_client_error(
        "get_function", service_error_code="TooManyRequestsException", http_status_code=429
    )
    settled(stubber)
    api.wait_updated(ARN)
    assert len(clock.sleeps) == 1


def test_a_failed_update_names_the_reason_without_values(stubbed: Any) -> None:
    api, stubber, _, _ = stubbed
    api.redact.add([SECRET])
    stubber.add_response(
        "get_function",
        {
            "Configuration": {
                "FunctionName": "orders",
                "LastUpdateStatus": "Failed",
                "LastUpdateStatusReason": f"could not apply DB_PASSWORD={SECRET}",
            }
        },
    )
    with pytest.raises(LambdaCallError) as caught:
        api.wait_updated(ARN)
    assert "Failed" in caught.value.message and SECRET not in caught.value.message


def test_invoke_reads_the_tail_and_the_function_error(stubbed: Any) -> None:
    api, stubber, _, _ = stubbed
    api.redact.add([SECRET])
    body = json.dumps({"errorType": "KeyError", "errorMessage": f"no user for {SECRET}"}).encode()
    tail = base64.b64encode(REPORT.format(id="req-1").encode()).decode()
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "LogResult": tail,
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
            "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 200},
        },
        expected_params={
            "FunctionName": ARN,
            "InvocationType": "RequestResponse",
            "LogType": "Tail",
            "Payload": b"{}",
        },
    )
    invocation = api.invoke(ARN, b"{}")
    assert invocation.request_id == "req-1"
    assert invocation.function_error == "Unhandled" and invocation.error_type == "KeyError"
    assert invocation.error_message == "no user for ***"
    assert "Init Duration: 295.33 ms" in invocation.log_tail


class _BrokenStream(io.RawIOBase):
    """A response body whose connection drops before any of it arrives."""

    def read(self, size: int = -1) -> bytes:
        from urllib3.exceptions import ProtocolError

        raise ProtocolError("Connection broken: IncompleteRead(0 bytes read, 148 more expected)")


def test_a_connection_that_breaks_mid_payload_is_a_transport_error(stubbed: Any) -> None:
    """Seen against an emulator stopped mid-invoke: the headers arrived, the body never did."""
    api, stubber, _, _ = stubbed
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "Payload": StreamingBody(_BrokenStream(), 148),
            "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 200},
        },
    )
    with pytest.raises(LambdaCallError) as caught:
        api.invoke(ARN, b"{}")
    assert caught.value.code == "Transport"
    assert caught.value.message.startswith(f"invoking {ARN}: could not reach AWS")


def test_a_report_missing_from_the_tail_is_read_from_cloudwatch_logs(stubbed: Any) -> None:
    api, stubber, logs_stubber, _ = stubbed
    stubber.add_response("get_function_configuration", CONFIG)
    snapshot = api.snapshot(ARN)
    body = b'{"ok": true}'
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            # A chatty function: the last 4 KB held only its own output.
            "LogResult": base64.b64encode(b"x" * 4096).decode(),
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
            "ResponseMetadata": {"RequestId": "req-2", "HTTPStatusCode": 200},
        },
    )
    logs_stubber.add_response("filter_log_events", {"events": []})  # not delivered yet
    logs_stubber.add_response(
        "filter_log_events",
        {"events": [{"message": REPORT.format(id="req-2") + "\n"}]},
        expected_params={
            "logGroupName": "/aws/lambda/orders",
            "startTime": ANY,
            "filterPattern": '"req-2"',
        },
    )
    sample, failure = invoke_outcome(api, snapshot, api.invoke(ARN, b"{}"))
    assert failure is None
    assert sample is not None and sample.init_ms == 295.33 and sample.billed_ms == 309


def test_access_denied_mid_sweep_reports_the_function_and_its_restore_command(
    stubbed: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Allowed to read, refused to update: nothing changed, but coldprof cannot prove the
    restore either, so it says so and prints the command."""
    monkeypatch.setenv("COLDPROF_CACHE_DIR", str(tmp_path))
    api, stubber, _, _ = stubbed
    stubber.add_response("get_function_configuration", CONFIG)  # the estimate's read
    settled(stubber)
    stubber.add_response("get_function_configuration", CONFIG)  # the snapshot
    denied = {
        "service_error_code": "AccessDeniedException",
        "service_message": "not authorized to perform: lambda:UpdateFunctionConfiguration",
        "http_status_code": 403,
    }
    settled(stubber)
    stubber.add_client_error("update_function_configuration", **denied)  # tier 1
    settled(stubber)
    stubber.add_client_error("update_function_configuration", **denied)  # the restore
    estimates: list[Any] = []
    result = sweep(
        RemoteRequest(arns=(ARN,), memory_tiers=(128, 512), samples=1, warm=0),
        confirm=lambda e: estimates.append(e) or True,
        api_factory=lambda region: api,
    )
    (estimate,) = estimates
    assert estimate.invocations == 2 and estimate.updates == 3
    assert 0 < estimate.cost_usd < estimate.max_cost_usd
    (function,) = result.functions
    assert function.error is not None and "AccessDeniedException" in function.error
    assert function.tiers == ()  # the sweep stopped: no tier can work without access
    assert not function.restored
    assert function.restore_command is not None and SECRET not in function.restore_command
    assert "--environment file://" in function.restore_command
    assert function.architecture == "arm64"


def test_restore_command_for_a_function_without_variables(stubbed: Any) -> None:
    api, stubber, _, _ = stubbed
    bare = {k: v for k, v in CONFIG.items() if k != "Environment"}
    stubber.add_response("get_function_configuration", {**bare, "Description": "it's mine"})
    command = restore_command(api, api.snapshot(ARN))
    assert command == (
        f"aws lambda update-function-configuration --function-name {ARN} --memory-size 256 "
        "--timeout 9 --description 'it'\"'\"'s mine' --environment '{\"Variables\":{}}' "
        "--region eu-west-1"
    )


def test_redactor_replaces_longest_secrets_first() -> None:
    redact = Redactor()
    redact.add(["abcd", "abcdefgh", "no"])  # "no" is too short to hunt for
    assert redact("x abcdefgh y abcd z no") == "x *** y *** z no"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:9001", True),
        ("http://localhost:4566", True),
        ("http://[::1]:9001", True),
        ("127.0.0.2:9001", True),
        ("https://lambda.eu-west-1.amazonaws.com", False),
        ("http://10.0.0.5:9001", False),
        (None, False),
    ],
)
def test_only_loopback_endpoints_count_as_local(url: str | None, local: bool) -> None:
    assert is_loopback_url(url) is local
