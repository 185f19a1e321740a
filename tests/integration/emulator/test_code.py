"""UpdateFunctionCode and the code download GetFunction's Code.Location names."""

from __future__ import annotations

import base64
import hashlib
import io
import urllib.error
import urllib.request
import zipfile
from typing import Any

import pytest

from lambda_client import FAST_WAIT, PID_HANDLER, create, invoke, make_zip, report_of, unique

TWO = "def handler(e, c):\n    return 'two'\n"


def _sha(code: bytes) -> str:
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


# -- UpdateFunctionCode --------------------------------------------------------------------------
def test_code_update_retires_and_publish_pins_a_version(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'one'\n")
    assert invoke(lam, name)[0] == "one"
    published = lam.publish_version(FunctionName=name)
    assert published["Version"] == "1"
    lam.update_function_code(
        FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'two'\n"})
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    latest, log, _ = invoke(lam, name)
    assert latest == "two" and report_of(log).init_ms is not None
    pinned, _, response = invoke(lam, name, Qualifier="1")
    assert pinned == "one" and response["ExecutedVersion"] == "1"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1"]
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as download:
        files = zipfile.ZipFile(io.BytesIO(download.read())).namelist()
    assert files == ["app.py"]


def test_update_function_code_returns_the_new_code_and_can_publish(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'one'\n")
    before = lam.get_function_configuration(FunctionName=name)
    code = make_zip({"app.py": TWO})
    updated = lam.update_function_code(
        FunctionName=name,
        ZipFile=code,
        Publish=True,
        Architectures=["arm64"],
        RevisionId=before["RevisionId"],
    )
    assert (updated["CodeSha256"], updated["CodeSize"]) == (_sha(code), len(code))
    assert updated["Architectures"] == ["arm64"]
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["RevisionId"] != before["RevisionId"]
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [(v["Version"], v["CodeSha256"]) for v in versions] == [
        ("$LATEST", _sha(code)),
        ("1", _sha(code)),
    ]


def test_update_function_code_dry_run_changes_nothing(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'one'\n")
    before = lam.get_function_configuration(FunctionName=name)
    code = make_zip({"app.py": TWO})
    checked = lam.update_function_code(FunctionName=name, ZipFile=code, DryRun=True)
    assert checked["CodeSha256"] == _sha(code)
    after = lam.get_function_configuration(FunctionName=name)
    assert (after["CodeSha256"], after["RevisionId"]) == (
        before["CodeSha256"],
        before["RevisionId"],
    )
    assert invoke(lam, name)[0] == "one"


def test_update_function_code_errors(lam: Any) -> None:
    code = make_zip({"app.py": TWO})
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_code(FunctionName=unique("missing"), ZipFile=code)
    pending = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Pending"):
        lam.update_function_code(FunctionName=pending, ZipFile=code)
    name = create(lam, PID_HANDLER)
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_code(FunctionName=name, ZipFile=code, RevisionId="stale")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="ZipFile only"):
        lam.update_function_code(FunctionName=name, S3Bucket="bucket", S3Key="code.zip")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Could not unzip"):
        lam.update_function_code(FunctionName=name, ZipFile=b"not a zip")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Architectures"):
        lam.update_function_code(FunctionName=name, ZipFile=code, Architectures=["sparc"])
    lam.update_function_code(FunctionName=name, ZipFile=code)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="update is in progress"):
        lam.update_function_code(FunctionName=name, ZipFile=code)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    payload, log, _ = invoke(lam, name)
    assert payload == "two" and report_of(log).init_ms is not None


# -- the code download ---------------------------------------------------------------------------
def test_each_version_downloads_its_own_code(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'one'\n")
    lam.publish_version(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": TWO}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)

    def source(**qualifier: str) -> str:
        location = lam.get_function(FunctionName=name, **qualifier)["Code"]["Location"]
        with urllib.request.urlopen(location, timeout=10) as download:
            assert download.headers["Content-Type"] == "application/zip"
            return zipfile.ZipFile(io.BytesIO(download.read())).read("app.py").decode()

    assert "'two'" in source()
    assert "'one'" in source(Qualifier="1")


def test_an_unknown_code_package_is_not_found(endpoint: str, lam: Any) -> None:
    name = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{endpoint}/coldprof/code/{name}/code-nothing.zip", timeout=10)
    assert missing.value.code == 404
    assert missing.value.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
