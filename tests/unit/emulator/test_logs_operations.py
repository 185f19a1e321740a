"""Tests for coldprof.emulator.operations.logs over a LogStore: filter patterns and paging."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.emulator.log_store import LogStore, stream_name
from coldprof.emulator.operations import logs


@pytest.mark.parametrize(
    ("pattern", "message", "matched"),
    [
        ("", "anything", True),
        ("REPORT", "REPORT RequestId: 1", True),
        ("REPORT Init", "REPORT RequestId: 1", False),
        ('"RequestId: 1"', "REPORT RequestId: 1", True),
        ("?START ?END", "END RequestId: 1", True),
        ("?START ?END", "REPORT RequestId: 1", False),
        ('?"Init Duration" ?timeout', "Task timed out", False),
        ("{ $.level = 1 }", '{"level": 1}', False),
        ("[a, b]", "a b", False),
    ],
)
def test_term_filter_patterns(pattern: str, message: str, matched: bool) -> None:
    assert logs.matches(pattern, message) is matched


def test_a_store_keeps_lines_per_stream_across_restarts(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    stream = stream_name("$LATEST", now=0)
    assert stream.startswith("1970/01/01/[$LATEST]")
    store.put("/g", stream, "one\ntwo\n", timestamp_ms=5)
    (tmp_path / "torn.jsonl").write_text('{"group": "/g", "stre')  # a killed emulator's last line
    again = LogStore(tmp_path)
    assert [(e.stream, e.timestamp_ms, e.message) for e in again.events("/g") or []] == [
        (stream, 5, "one"),
        (stream, 5, "two"),
    ]
    assert again.events("/other") is None
    (group,) = again.groups("/")
    assert (group.name, group.created_ms, group.stored_bytes) == ("/g", 5, 6)


def test_describe_and_filter_page_with_their_own_tokens() -> None:
    store = LogStore()
    for index in range(5):
        store.put(f"/g{index}", "s", f"line {index}", timestamp_ms=index)
        store.put("/g0", "s", f"more {index}", timestamp_ms=10 + index)
    first = logs.describe_log_groups(store, {"limit": 2})
    assert [g["logGroupName"] for g in first["logGroups"]] == ["/g0", "/g1"]
    rest = logs.describe_log_groups(store, {"limit": 50, "nextToken": first["nextToken"]})
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["/g2", "/g3", "/g4"]
    page = logs.filter_log_events(store, {"logGroupName": "/g0", "limit": 4, "startTime": 10})
    assert [e["message"] for e in page["events"]] == [f"more {i}" for i in range(4)]
    last = logs.filter_log_events(
        store, {"logGroupName": "/g0", "startTime": 10, "nextToken": page["nextToken"]}
    )
    assert [e["message"] for e in last["events"]] == ["more 4"] and "nextToken" not in last
    for body, code in (
        ({"logGroupName": "/none"}, "ResourceNotFoundException"),
        ({}, "InvalidParameterException"),
        ({"logGroupName": "/g0", "limit": 0}, "InvalidParameterException"),
        ({"logGroupName": "/g0", "nextToken": "bm9wZTox"}, "InvalidParameterException"),
    ):
        with pytest.raises(logs.LogsApiError) as refused:
            logs.filter_log_events(store, body)
        assert refused.value.code == code


def test_an_operation_not_served_is_unknown() -> None:
    with pytest.raises(logs.LogsApiError) as refused:
        logs.handle(LogStore(), "PutLogEvents", {})
    assert refused.value.code == "UnknownOperationException"
    assert refused.value.response().headers == {"x-amzn-ErrorType": "UnknownOperationException"}
