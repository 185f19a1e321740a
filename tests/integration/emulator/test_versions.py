"""PublishVersion and ListVersionsByFunction, through boto3 over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_client import FAST_WAIT, PID_HANDLER, create, invoke, unique


# -- PublishVersion ------------------------------------------------------------------------------
def test_publish_version_numbers_versions_and_skips_an_unchanged_latest(lam: Any) -> None:
    name = create(lam, PID_HANDLER, Description="base")
    first = lam.publish_version(FunctionName=name, Description="first")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (first["Version"], first["Description"]) == ("1", "first")
    assert first["FunctionArn"].endswith(f":function:{name}:1")
    # Nothing changed: Lambda returns the last version instead of making another.
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    lam.update_function_configuration(FunctionName=name, MemorySize=256)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    second = lam.publish_version(FunctionName=name)
    assert (second["Version"], second["MemorySize"], second["Description"]) == ("2", 256, "base")
    assert invoke(lam, name, Qualifier="1")[0]["memory"] == "128"
    assert invoke(lam, name, Qualifier="2")[0]["memory"] == "256"


def test_publish_version_errors(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.publish_version(FunctionName=unique("missing"))
    pending = create(lam, PID_HANDLER, wait=False)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Pending"):
        lam.publish_version(FunctionName=pending)
    name = create(lam, PID_HANDLER)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="CodeSHA256"):
        lam.publish_version(FunctionName=name, CodeSha256="c29tZXRoaW5nIGVsc2U=")
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.publish_version(FunctionName=name, RevisionId="stale")
    sha = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
    assert lam.publish_version(FunctionName=name, CodeSha256=sha)["Version"] == "1"


# -- ListVersionsByFunction ----------------------------------------------------------------------
def test_list_versions_by_function_in_order_and_in_pages(lam: Any) -> None:
    name = create(lam, PID_HANDLER)
    for timeout in (4, 5):
        lam.publish_version(FunctionName=name)
        lam.update_function_configuration(FunctionName=name, Timeout=timeout)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    listed = lam.list_versions_by_function(FunctionName=name)
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST", "1", "2"]
    assert [v["Timeout"] for v in listed["Versions"]] == [5, 3, 4]
    first = lam.list_versions_by_function(FunctionName=name, MaxItems=2)
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    rest = lam.list_versions_by_function(FunctionName=name, Marker=first["NextMarker"])
    assert [v["Version"] for v in rest["Versions"]] == ["2"] and "NextMarker" not in rest
    pages = lam.get_paginator("list_versions_by_function").paginate(
        FunctionName=name, PaginationConfig={"PageSize": 1}
    )
    assert [v["Version"] for page in pages for v in page["Versions"]] == ["$LATEST", "1", "2"]


def test_list_versions_by_function_of_a_missing_function(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_versions_by_function(FunctionName=unique("missing"))
