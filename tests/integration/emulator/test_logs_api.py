"""The CloudWatch Logs operations the emulator serves, through boto3's `logs` client over HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from coldprof.emulator.server import LocalLambda
from lambda_client import PID_HANDLER, client_for, create, invoke, unique

PRINTS = """
def handler(event, context):
    print("order", event.get("order"))
    return event.get("order")
"""


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulator-logs")


@pytest.fixture(scope="module")
def endpoint(log_dir: Path) -> Iterator[str]:
    # Its own log folder: the groups listed are this module's only.
    with LocalLambda(update_seconds=0.0, log_dir=log_dir) as url:
        yield url


@pytest.fixture(scope="module")
def invoked(lam: Any) -> tuple[str, list[str]]:
    """A function invoked three times (one cold start), and the request ids of its invokes."""
    name = create(lam, PRINTS)
    ids = [
        invoke(lam, name, {"order": order})[2]["ResponseMetadata"]["RequestId"]
        for order in (1, 2, 3)
    ]
    return name, ids


# -- DescribeLogGroups ---------------------------------------------------------------------------
def test_describe_log_groups_by_prefix_and_in_pages(lam: Any, cwlogs: Any) -> None:
    names = sorted(create(lam, PID_HANDLER, FunctionName=unique("grp")) for _ in range(3))
    for name in names:
        invoke(lam, name)
    groups = cwlogs.describe_log_groups(logGroupNamePrefix="/aws/lambda/grp-")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [f"/aws/lambda/{n}" for n in names]
    assert all(g["storedBytes"] > 0 and g["creationTime"] > 0 for g in groups)
    assert groups[0]["arn"].endswith(f":log-group:/aws/lambda/{names[0]}:*")
    first = cwlogs.describe_log_groups(logGroupNamePrefix="/aws/lambda/grp-", limit=2)
    assert len(first["logGroups"]) == 2 and "nextToken" in first
    rest = cwlogs.describe_log_groups(
        logGroupNamePrefix="/aws/lambda/grp-", limit=2, nextToken=first["nextToken"]
    )
    assert [g["logGroupName"] for g in first["logGroups"] + rest["logGroups"]] == [
        g["logGroupName"] for g in groups
    ]
    assert "nextToken" not in rest
    assert cwlogs.describe_log_groups(logGroupNamePrefix="/nothing/")["logGroups"] == []


def test_describe_log_groups_errors(cwlogs: Any) -> None:
    with pytest.raises(cwlogs.exceptions.InvalidParameterException, match="nextToken"):
        cwlogs.describe_log_groups(nextToken="forged")
    unvalidated = client_for(cwlogs.meta.endpoint_url, "logs", validate=False)
    with pytest.raises(cwlogs.exceptions.InvalidParameterException, match="limit"):
        unvalidated.describe_log_groups(limit=51)


# -- DescribeLogStreams --------------------------------------------------------------------------
def test_describe_log_streams_names_one_stream_per_environment(
    lam: Any, cwlogs: Any, invoked: tuple[str, list[str]]
) -> None:
    name, _ = invoked
    streams = cwlogs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1  # one cold start, then the same warm environment
    (stream,) = streams
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream["logStreamName"])
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]
    assert stream["creationTime"] == stream["firstEventTimestamp"]


def test_describe_log_streams_errors(cwlogs: Any) -> None:
    with pytest.raises(cwlogs.exceptions.ResourceNotFoundException):
        cwlogs.describe_log_streams(logGroupName=f"/aws/lambda/{unique('missing')}")
    with pytest.raises(cwlogs.exceptions.InvalidParameterException, match="logGroupName"):
        cwlogs.describe_log_streams(logGroupIdentifier="arn:aws:logs:somewhere")


# -- FilterLogEvents -----------------------------------------------------------------------------
def test_filter_log_events_returns_every_line_in_order(
    cwlogs: Any, invoked: tuple[str, list[str]]
) -> None:
    name, ids = invoked
    events = cwlogs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [e["message"] for e in events]
    assert messages[0].startswith("INIT_START")
    assert [m for m in messages if m.startswith("order")] == ["order 1", "order 2", "order 3"]
    reports = [m for m in messages if m.startswith("REPORT")]
    assert [r.split("\t")[0] for r in reports] == [f"REPORT RequestId: {i}" for i in ids]
    assert [int(e["eventId"]) for e in events] == sorted(int(e["eventId"]) for e in events)
    assert all(e["ingestionTime"] == e["timestamp"] for e in events)


def test_filter_log_events_by_pattern_time_and_stream(
    cwlogs: Any, invoked: tuple[str, list[str]]
) -> None:
    name, ids = invoked
    group = f"/aws/lambda/{name}"

    def messages(**filters: Any) -> list[str]:
        return [
            e["message"] for e in cwlogs.filter_log_events(logGroupName=group, **filters)["events"]
        ]

    assert len(messages(filterPattern="REPORT")) == 3
    assert messages(filterPattern=f"REPORT {ids[1]}")[0].startswith(f"REPORT RequestId: {ids[1]}")
    either = messages(filterPattern='?"order 1" ?"order 3"')
    assert either == ["order 1", "order 3"]
    assert messages(filterPattern="{ $.level = 1 }") == []  # JSON selectors are not supported
    events = cwlogs.filter_log_events(logGroupName=group)["events"]
    last = max(e["timestamp"] for e in events)
    assert messages(startTime=last + 1) == []
    assert len(messages(endTime=last)) == len(events)
    stream = events[0]["logStreamName"]
    assert len(messages(logStreamNames=[stream])) == len(events)
    assert messages(logStreamNames=["2026/01/01/[$LATEST]other"]) == []


def test_filter_log_events_in_pages(cwlogs: Any, invoked: tuple[str, list[str]]) -> None:
    name, _ = invoked
    group = f"/aws/lambda/{name}"
    everything = cwlogs.filter_log_events(logGroupName=group)["events"]
    first = cwlogs.filter_log_events(logGroupName=group, limit=2)
    assert first["events"] == everything[:2] and "nextToken" in first
    paginator = cwlogs.get_paginator("filter_log_events")
    pages = list(paginator.paginate(logGroupName=group, PaginationConfig={"PageSize": 2}))
    assert len(pages) == (len(everything) + 1) // 2
    assert [e for page in pages for e in page["events"]] == everything


def test_filter_log_events_errors(cwlogs: Any) -> None:
    with pytest.raises(cwlogs.exceptions.ResourceNotFoundException, match="does not exist"):
        cwlogs.filter_log_events(logGroupName=f"/aws/lambda/{unique('missing')}")
    with pytest.raises(cwlogs.exceptions.InvalidParameterException, match="logGroupName"):
        cwlogs.filter_log_events(logGroupIdentifier="arn:aws:logs:somewhere")


# -- what is not served --------------------------------------------------------------------------
def test_get_log_events_is_not_served(cwlogs: Any, invoked: tuple[str, list[str]]) -> None:
    name, _ = invoked
    with pytest.raises(ClientError) as refused:
        cwlogs.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName="any")
    error = refused.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    assert "GetLogEvents" in error["Message"]


# -- log groups outlive their functions and their emulator ---------------------------------------
def test_a_deleted_functions_logs_are_kept_for_the_next_emulator(lam: Any, log_dir: Path) -> None:
    name = create(lam, PRINTS)
    invoke(lam, name, {"order": 42})
    lam.delete_function(FunctionName=name)
    with LocalLambda(update_seconds=0.0, log_dir=log_dir) as url:
        events = client_for(url, "logs").filter_log_events(
            logGroupName=f"/aws/lambda/{name}", filterPattern="order"
        )["events"]
    assert [e["message"] for e in events] == ["order 42"]
    assert events[0]["timestamp"] <= time.time() * 1000
