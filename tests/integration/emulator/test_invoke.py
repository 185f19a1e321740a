"""Invoke through boto3 over HTTP: invocation types, LogType, Qualifier, payload, client context."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from lambda_client import PID_HANDLER, client_for, create, invoke, report_of, unique

ECHO = """
def handler(event, context):
    custom = context.client_context.custom if context.client_context else None
    return {"event": event, "custom": custom, "arn": context.invoked_function_arn}
"""


def test_a_request_response_invoke_returns_the_functions_payload(lam: Any) -> None:
    name = create(lam, ECHO)
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"order": 7}).encode())
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response and "LogResult" not in response  # LogType None
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    payload = json.loads(response["Payload"].read())
    assert payload["event"] == {"order": 7}
    assert payload["arn"].endswith(f":function:{name}")


def test_an_empty_payload_is_an_empty_event(lam: Any) -> None:
    name = create(lam, ECHO)
    response = lam.invoke(FunctionName=name)
    assert json.loads(response["Payload"].read())["event"] == {}


def test_log_type_tail_returns_the_last_4_kb_of_the_log(lam: Any) -> None:
    source = """
    def handler(event, context):
        print("x" * event["n"])
        return "ok"
    """
    name = create(lam, source)
    _, log, _ = invoke(lam, name, {"n": 10})
    assert "x" * 10 in log and report_of(log).memory_mb == 128
    _, long_log, response = invoke(lam, name, {"n": 10_000})
    assert len(base64.b64decode(response["LogResult"])) == 4096
    assert long_log.startswith("x") and long_log.rstrip("\n").split("\n")[-1].startswith("REPORT")


def test_a_qualifier_picks_a_published_version(lam: Any) -> None:
    name = create(lam, PID_HANDLER, MemorySize=256)
    lam.publish_version(FunctionName=name)
    by_qualifier, _, response = invoke(lam, name, Qualifier="1")
    assert response["ExecutedVersion"] == "1" and by_qualifier["memory"] == "256"
    _, _, response = invoke(lam, f"{name}:1")
    assert response["ExecutedVersion"] == "1"
    _, _, response = invoke(lam, name, Qualifier="$LATEST")
    assert response["ExecutedVersion"] == "$LATEST"
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match=f"{name}:2"):
        lam.invoke(FunctionName=name, Qualifier="2")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="does not match"):
        lam.invoke(FunctionName=f"{name}:1", Qualifier="$LATEST")


def test_client_context_reaches_the_function(lam: Any) -> None:
    name = create(lam, ECHO)
    context = base64.b64encode(json.dumps({"custom": {"tenant": "a"}}).encode()).decode()
    payload, _, _ = invoke(lam, name, ClientContext=context)
    assert payload["custom"] == {"tenant": "a"}
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Client context"):
        lam.invoke(FunctionName=name, ClientContext="not base64 json")


def test_an_event_invoke_runs_in_the_background(lam: Any, tmp_path: Path) -> None:
    source = """
    def handler(event, context):
        open(event["path"], "w").write("ran")
    """
    name = create(lam, source)
    marker = tmp_path / "event.txt"
    response = lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(marker)})
    )
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "ran"


def test_a_dry_run_checks_without_running(lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    response = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert response["StatusCode"] == 204 and response["ExecutedVersion"] == "$LATEST"
    _, log, _ = invoke(lam, name)
    assert report_of(log).init_ms is not None  # the dry run started no environment


def test_payload_errors(lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    with pytest.raises(lam.exceptions.InvalidRequestContentException, match="parse request"):
        lam.invoke(FunctionName=name, Payload=b"{not json")
    with pytest.raises(lam.exceptions.RequestTooLargeException, match="RequestResponse"):
        lam.invoke(FunctionName=name, Payload=json.dumps("x" * (6 * 1024 * 1024)).encode())
    with pytest.raises(lam.exceptions.RequestTooLargeException, match="Event"):
        lam.invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps("x" * (1024 * 1024)).encode(),
        )


def test_a_response_past_6_mb_is_a_function_error(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'x' * (6 * 1024 * 1024 + 1)\n", Timeout=30)
    payload, log, response = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Function.ResponseSizeTooLarge"
    report = report_of(log)
    assert (report.status, report.error_type) == ("error", "Function.ResponseSizeTooLarge")


def test_invoke_errors(endpoint: str, lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=unique("missing"))
    pending = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Pending"):
        lam.invoke(FunctionName=pending)
    unvalidated = client_for(endpoint, validate=False)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="invocation type"):
        unvalidated.invoke(FunctionName=pending, InvocationType="Later")
