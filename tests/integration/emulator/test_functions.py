"""CreateFunction, GetFunction, ListFunctions and DeleteFunction, through boto3 over HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lambda_client import (
    FAST_WAIT,
    PID_HANDLER,
    REGION,
    ROLE,
    client_for,
    create,
    invoke,
    make_zip,
    unique,
)


def _create(lam: Any, name: str, **settings: Any) -> dict[str, Any]:
    settings.setdefault("Runtime", "python3.12")
    settings.setdefault("Handler", "app.handler")
    settings.setdefault("Code", {"ZipFile": make_zip({"app.py": PID_HANDLER})})
    return lam.create_function(FunctionName=name, Role=ROLE, **settings)  # type: ignore[no-any-return]


# -- CreateFunction ------------------------------------------------------------------------------
def test_create_function_returns_the_pending_configuration(lam: Any) -> None:
    name = unique("create")
    code = make_zip({"app.py": PID_HANDLER})
    created = _create(
        lam,
        name,
        Code={"ZipFile": code},
        MemorySize=512,
        Timeout=7,
        Description="made by a test",
        Environment={"Variables": {"STAGE": "test"}},
        Architectures=["arm64"],
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionName"] == name
    assert created["FunctionArn"] == f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
    assert (created["Runtime"], created["Handler"], created["Role"]) == (
        "python3.12",
        "app.handler",
        ROLE,
    )
    assert (created["MemorySize"], created["Timeout"]) == (512, 7)
    assert created["Description"] == "made by a test"
    assert created["Environment"] == {"Variables": {"STAGE": "test"}}
    assert created["Architectures"] == ["arm64"]
    assert created["CodeSize"] == len(code)
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert created["Version"] == "$LATEST" and created["PackageType"] == "Zip"
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    assert created["LastUpdateStatus"] == "InProgress"
    assert created["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    assert created["RuntimeVersionConfig"]["RuntimeVersionArn"].startswith(
        f"arn:aws:lambda:{REGION}::runtime:coldprof-local-python3."
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    active = lam.get_function_configuration(FunctionName=name)
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReasonCode" not in active


def test_create_function_with_publish_makes_version_1(lam: Any) -> None:
    name = unique("publish")
    _create(lam, name, Publish=True)
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    assert versions[1]["FunctionArn"].endswith(f":function:{name}:1")


def test_create_function_with_json_logging_and_a_log_group(lam: Any) -> None:
    name = unique("logging")
    created = _create(
        lam,
        name,
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "LogGroup": "/mine"},
    )
    assert created["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": "/mine",
        "ApplicationLogLevel": "DEBUG",
        "SystemLogLevel": "INFO",
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"Runtime": None}, "Runtime is required"),
        ({"Handler": None}, "Handler is required"),
        ({"Runtime": "python2.7"}, "not supported by the emulator"),
        ({"Handler": "has space.handler"}, "is not valid"),
        ({"MemorySize": 64}, "greater than or equal to 128"),
        ({"MemorySize": 10241}, "less than or equal to 10240"),
        ({"Timeout": 901}, "less than or equal to 900"),
        ({"Timeout": 0}, "greater than or equal to 1"),
        ({"Description": "x" * 257}, "at most 256"),
        ({"Architectures": ["x86_64", "arm64"]}, "Architectures must be"),
        ({"PackageType": "Image"}, "PackageType Image is not supported"),
        ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "exceeded the 4KB limit"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "Reserved keys used"),
        ({"LoggingConfig": {"LogFormat": "XML"}}, "LogFormat must be Text or JSON"),
        ({"LoggingConfig": {"ApplicationLogLevel": "INFO"}}, "requires LogFormat JSON"),
        (
            {"LoggingConfig": {"LogFormat": "JSON", "SystemLogLevel": "LOUD"}},
            "SystemLogLevel must be one of",
        ),
        ({"Code": {"ZipFile": b"not a zip"}}, "Could not unzip"),
        ({"Code": {"S3Bucket": "b", "S3Key": "k"}}, "accepts a ZipFile only"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_create_function_refuses_what_lambda_refuses(
    endpoint: str, settings: dict[str, Any], message: str
) -> None:
    lam = client_for(endpoint, validate=False)  # let the emulator, not botocore, refuse
    name = unique("refused")
    kwargs = {k: v for k, v in settings.items() if v is not None}
    missing = [k for k, v in settings.items() if v is None]
    body = {"Runtime": "python3.12", "Handler": "app.handler", **kwargs}
    for key in missing:
        body.pop(key)
    body.setdefault("Code", {"ZipFile": make_zip({"app.py": PID_HANDLER})})
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match=message):
        lam.create_function(FunctionName=name, Role=ROLE, **body)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)


def test_create_function_refuses_a_qualified_or_malformed_name(lam: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="qualifier"):
        _create(lam, unique("qualified") + ":1")
    unvalidated = client_for(lam.meta.endpoint_url, validate=False)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="functionName"):
        _create(unvalidated, "has.dots")


def test_create_function_twice_is_a_conflict(lam: Any) -> None:
    name = unique("twice")
    _create(lam, name)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="already exist"):
        _create(lam, name)


def test_unsafe_archives_are_refused(lam: Any, tmp_path: Path) -> None:
    def refused(code: bytes, match: str) -> None:
        name = unique("unsafe")
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=match):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": code},
            )
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName=name)

    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("app.py", PID_HANDLER)
        archive.writestr("../../escaped.py", "print('outside')")
    refused(slip.getvalue(), "escapes")

    link = io.BytesIO()
    with zipfile.ZipFile(link, "w") as archive:
        archive.writestr("app.py", PID_HANDLER)
        info = zipfile.ZipInfo("passwd")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    refused(link.getvalue(), "symbolic link")

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("app.py", PID_HANDLER)
        with archive.open("padding.bin", "w") as padding:
            chunk = bytes(8 * 1024 * 1024)
            for _ in range(32):  # 256 MiB, past Lambda's 262,144,000 bytes
                padding.write(chunk)
    assert len(bomb.getvalue()) < 2 * 1024 * 1024
    refused(bomb.getvalue(), "smaller than 262144000 bytes")


# -- GetFunction ---------------------------------------------------------------------------------
def test_get_function_returns_configuration_code_location_and_tags(lam: Any) -> None:
    name = unique("get")
    _create(lam, name, Tags={"team": "perf"})
    found = lam.get_function(FunctionName=name)
    assert found["Configuration"]["FunctionName"] == name
    assert found["Code"]["RepositoryType"] == "S3"
    assert found["Code"]["Location"].startswith(f"{lam.meta.endpoint_url}/coldprof/code/{name}/")
    assert found["Tags"] == {"team": "perf"}


def test_get_function_by_arn_partial_arn_and_qualifier(lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    lam.publish_version(FunctionName=name)
    for ref in (
        f"arn:aws:lambda:ap-south-1:999999999999:function:{name}",
        f"123456789012:function:{name}",
        name,
    ):
        assert lam.get_function(FunctionName=ref)["Configuration"]["FunctionName"] == name
    pinned = lam.get_function(FunctionName=name, Qualifier="1")["Configuration"]
    assert pinned["Version"] == "1" and pinned["FunctionArn"].endswith(f"{name}:1")
    assert lam.get_function(FunctionName=f"{name}:1")["Configuration"]["Version"] == "1"
    assert lam.get_function(FunctionName=f"{name}:$LATEST")["Configuration"]["Version"] == (
        "$LATEST"
    )


def test_get_function_errors(lam: Any) -> None:
    missing = unique("missing")
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match=f"function:{missing}"):
        lam.get_function(FunctionName=missing)
    name = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match=f"{name}:7"):
        lam.get_function(FunctionName=name, Qualifier="7")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="does not match"):
        lam.get_function(FunctionName=f"{name}:1", Qualifier="2")


# -- ListFunctions -------------------------------------------------------------------------------
def test_list_functions_pages_by_name_and_lists_versions_with_all() -> None:
    from coldprof.emulator.server import LocalLambda

    with LocalLambda(update_seconds=0.0) as url:  # an emulator of its own: an exact listing
        lam = client_for(url)
        assert lam.list_functions()["Functions"] == []
        names = sorted(create(lam, PID_HANDLER, FunctionName=f"list-{i}") for i in range(3))
        lam.publish_version(FunctionName=names[0])
        listed = lam.list_functions()
        assert [f["FunctionName"] for f in listed["Functions"]] == names
        assert "NextMarker" not in listed
        first = lam.list_functions(MaxItems=2)
        assert [f["FunctionName"] for f in first["Functions"]] == names[:2]
        rest = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
        assert [f["FunctionName"] for f in rest["Functions"]] == names[2:]
        assert "NextMarker" not in rest
        paged = [
            f["FunctionName"]
            for page in lam.get_paginator("list_functions").paginate(
                PaginationConfig={"PageSize": 1}
            )
            for f in page["Functions"]
        ]
        assert paged == names
        everything = lam.list_functions(FunctionVersion="ALL")["Functions"]
        assert [(f["FunctionName"], f["Version"]) for f in everything] == [
            (names[0], "$LATEST"),
            (names[0], "1"),
            (names[1], "$LATEST"),
            (names[2], "$LATEST"),
        ]


def test_list_functions_refuses_a_marker_that_is_not_its_own(endpoint: str) -> None:
    lam = client_for(endpoint)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Marker"):
        lam.list_functions(Marker="not-a-number")


# -- DeleteFunction ------------------------------------------------------------------------------
def test_delete_function_removes_it_and_kills_its_environments(lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    pid = invoke(lam, name)[0]["pid"]
    deleted = lam.delete_function(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName=name)
    assert name not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]


def test_delete_function_of_one_version_keeps_the_rest(lam: Any) -> None:
    name = create(lam, PID_HANDLER, Publish=True)
    lam.delete_function(FunctionName=name, Qualifier="1")
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="cannot be deleted"):
        lam.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_a_deleted_name_can_be_created_again(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'old'\n")
    assert invoke(lam, name)[0] == "old"
    lam.delete_function(FunctionName=name)
    create(lam, "def handler(e, c):\n    return 'new'\n", FunctionName=name)
    assert invoke(lam, name)[0] == "new"


# -- errors across operations --------------------------------------------------------------------
def test_api_errors_are_lambdas(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=unique("missing"))
    name = create(lam, PID_HANDLER)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="10240"):
        lam.update_function_configuration(FunctionName=name, MemorySize=20000)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="AWS_REGION"):
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"AWS_REGION": "x"}}
        )
    with pytest.raises(lam.exceptions.ResourceConflictException):
        create(lam, PID_HANDLER, FunctionName=name)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Python"):
        lam.create_function(
            FunctionName=unique("node"),
            Runtime="nodejs20.x",
            Role=ROLE,
            Handler="index.handler",
            Code={"ZipFile": make_zip({"index.js": "exports.handler = 1"})},
        )
    assert name in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    # any account and region in an ARN are accepted
    arn = f"arn:aws:lambda:ap-south-1:999999999999:function:{name}"
    assert lam.get_function_configuration(FunctionName=arn)["FunctionName"] == name
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert lam.invoke(FunctionName=name, InvocationType="Event")["StatusCode"] == 202
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name)
