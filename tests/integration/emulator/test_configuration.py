"""GetFunctionConfiguration and UpdateFunctionConfiguration, through boto3 over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_client import FAST_WAIT, PID_HANDLER, client_for, create, invoke, unique


def _updated(lam: Any, name: str) -> dict[str, Any]:
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    return lam.get_function_configuration(FunctionName=name)  # type: ignore[no-any-return]


# -- GetFunctionConfiguration --------------------------------------------------------------------
def test_get_function_configuration_of_latest_and_of_a_version(lam: Any) -> None:
    name = create(lam, PID_HANDLER, MemorySize=256)
    lam.publish_version(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, MemorySize=512)
    latest = _updated(lam, name)
    assert (latest["Version"], latest["MemorySize"]) == ("$LATEST", 512)
    pinned = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert (pinned["Version"], pinned["MemorySize"]) == ("1", 256)
    assert pinned["FunctionArn"].endswith(f":function:{name}:1")
    # A version is Active from the start; only $LATEST has an update in progress.
    assert (pinned["State"], pinned["LastUpdateStatus"]) == ("Active", "Successful")


def test_get_function_configuration_errors(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=unique("missing"))
    name = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=name, Qualifier="3")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="does not match"):
        lam.get_function_configuration(FunctionName=f"{name}:$LATEST", Qualifier="1")


# -- UpdateFunctionConfiguration -----------------------------------------------------------------
def test_update_function_configuration_changes_each_setting(lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    before = lam.get_function_configuration(FunctionName=name)
    updated = lam.update_function_configuration(
        FunctionName=name,
        MemorySize=1024,
        Timeout=30,
        Description="tuned",
        Environment={"Variables": {"XX": "set"}},
        Handler="app.handler",
        Runtime="python3.12",
        LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"},
        Layers=["arn:aws:lambda:eu-west-1:123456789012:layer:tools:1"],
    )
    assert (updated["LastUpdateStatus"], updated["LastUpdateStatusReason"]) == (
        "InProgress",
        "The function is being updated.",
    )
    after = _updated(lam, name)
    assert (after["MemorySize"], after["Timeout"], after["Description"]) == (1024, 30, "tuned")
    assert after["Environment"] == {"Variables": {"XX": "set"}}
    assert after["LoggingConfig"]["LogFormat"] == "JSON"
    assert after["LoggingConfig"]["SystemLogLevel"] == "WARN"
    assert after["Layers"] == [
        {"Arn": "arn:aws:lambda:eu-west-1:123456789012:layer:tools:1", "CodeSize": 0}
    ]
    assert after["RevisionId"] != before["RevisionId"]
    assert after["CodeSha256"] == before["CodeSha256"]
    assert invoke(lam, name)[0]["env"] == "set"


def test_update_function_configuration_refuses_bad_values(endpoint: str) -> None:
    lam = client_for(endpoint, validate=False)
    name = create(lam, PID_HANDLER)
    for settings, message in (
        ({"MemorySize": 20000}, "10240"),
        ({"MemorySize": "big"}, "must be an integer"),
        ({"Timeout": 1000}, "less than or equal to 900"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "AWS_REGION"),
        ({"Environment": {"Variables": {"X": "one letter"}}}, "must match"),
        ({"Runtime": "nodejs20.x"}, "Python"),
        ({"Layers": [5]}, "Layers must be a list"),
    ):
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=message):
            lam.update_function_configuration(FunctionName=name, **settings)
    # Nothing was changed by the refused updates.
    assert lam.get_function_configuration(FunctionName=name)["LastUpdateStatus"] == "Successful"


def test_update_function_configuration_conflicts_and_preconditions(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_configuration(FunctionName=unique("missing"), Timeout=5)
    pending = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Pending"):
        lam.update_function_configuration(FunctionName=pending, Timeout=5)
    name = create(lam, PID_HANDLER)
    revision = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId="stale")
    lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=revision)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="update is in progress"):
        lam.update_function_configuration(FunctionName=name, Timeout=6)
    assert _updated(lam, name)["Timeout"] == 5
