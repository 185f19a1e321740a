"""Tests for coldprof.emulator.registry: FunctionName references, versions and revisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.emulator.registry import (
    CodePackage,
    Function,
    FunctionRef,
    FunctionSettings,
    Registry,
    parse_function_ref,
)
from coldprof.emulator.responses import ApiError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fn", FunctionRef("fn")),
        ("fn:7", FunctionRef("fn", "7")),
        ("fn:$LATEST", FunctionRef("fn", "$LATEST")),
        ("123456789012:function:fn", FunctionRef("fn", account="123456789012")),
        (
            "arn:aws:lambda:eu-west-1:999999999999:function:fn:live",
            FunctionRef("fn", "live", "eu-west-1", "999999999999"),
        ),
        (
            "arn:aws-cn:lambda:cn-north-1:999999999999:function:fn",
            FunctionRef("fn", None, "cn-north-1", "999999999999"),
        ),
    ],
)
def test_a_function_name_may_be_a_name_a_partial_arn_or_an_arn(
    value: str, expected: FunctionRef
) -> None:
    assert parse_function_ref(value) == expected


@pytest.mark.parametrize("value", ["", "a.b", "x" * 65, "fn:", "arn:aws:s3:::bucket", "fn:a:b"])
def test_anything_else_is_invalid(value: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_function_ref(value)
    assert refused.value.code == "InvalidParameterValueException"
    assert refused.value.status == 400


def _function(tmp_path: Path) -> Function:
    code = CodePackage(tmp_path / "task", tmp_path / "code.zip", "sha", 10, 20)
    return Function(
        "fn", "eu-west-1", "123456789012", FunctionSettings("python3.12", "a.b", "", code)
    )


def test_publish_freezes_latest_once_per_revision(tmp_path: Path) -> None:
    fn = _function(tmp_path)
    first = fn.publish("first")
    assert (first.version, first.description) == ("1", "first")
    assert fn.publish(None) is first  # $LATEST unchanged: the same version
    fn.latest = FunctionSettings("python3.12", "a.c", "", fn.latest.code)  # a new revision
    second = fn.publish(None)
    assert second.version == "2" and fn.settings("2") is second and fn.settings(None) is fn.latest
    with pytest.raises(ApiError, match="Function not found: .*:fn:3"):
        fn.settings("3")


def test_changes_wait_for_pending_and_updates_and_match_the_revision(tmp_path: Path) -> None:
    fn = _function(tmp_path)
    fn.pending_until = 10.0
    assert fn.state(5.0) == "Pending" and fn.updating(5.0)
    with pytest.raises(ApiError, match="Pending"):
        fn.check_not_updating(5.0)
    fn.pending_until, fn.updating_until = 0.0, 20.0
    assert fn.state(15.0) == "Active"
    with pytest.raises(ApiError, match="update is in progress"):
        fn.check_not_updating(15.0)
    fn.check_not_updating(25.0)
    fn.check_revision(None)
    fn.check_revision(fn.latest.revision_id)
    with pytest.raises(ApiError) as stale:
        fn.check_revision("stale")
    assert (stale.value.code, stale.value.status) == ("PreconditionFailedException", 412)


def test_the_registry_finds_adds_and_removes(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    fn = _function(tmp_path)
    with pytest.raises(ApiError, match="arn:aws:lambda:us-east-1:123456789012:function:fn"):
        registry.find(FunctionRef("fn"))
    registry.add(fn)
    assert registry.find(FunctionRef("fn", region="x")) is fn and "fn" in registry
    with pytest.raises(ApiError) as twice:
        registry.add(_function(tmp_path))
    assert twice.value.code == "ResourceConflictException"
    registry.remove(fn)
    assert fn.deleted and "fn" not in registry and registry.all() == []


def test_unpacking_refuses_what_is_not_a_base64_zip(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    for value, message in (
        (None, "ZipFile only"),
        ("***", "not valid base64"),
        ("bm90IGEgemlw", "Could not unzip"),
    ):
        with pytest.raises(ApiError, match=message):
            registry.unpack(value)
    assert list(tmp_path.iterdir()) == []  # nothing left behind
