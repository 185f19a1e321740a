"""CloudWatch Logs' DescribeLogGroups, DescribeLogStreams and FilterLogEvents, from the store."""

# Served on the emulator's own port, in the JSON 1.1 protocol that boto3's `logs` client speaks:
# POST / with `X-Amz-Target: Logs_20140328.<Operation>`.

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from coldprof.emulator.log_store import LogStore, StoredEvent
from coldprof.emulator.responses import Response

TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"
# FilterLogEvents returns at most this many events a page (its documented maximum).
MAX_EVENTS_PER_PAGE = 10_000
MAX_GROUPS_PER_PAGE = 50


class LogsApiError(Exception):
    """An error shaped as CloudWatch Logs returns it (JSON 1.1: `__type` names the exception)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}

    def response(self) -> Response:
        body = json.dumps(self.body()).encode()
        return Response(self.status, body, {"x-amzn-ErrorType": self.code}, CONTENT_TYPE)


def handle(store: LogStore, operation: str, body: Mapping[str, Any]) -> Response:
    """Answer one CloudWatch Logs operation from the store."""
    if operation == "DescribeLogGroups":
        document = describe_log_groups(store, body)
    elif operation == "DescribeLogStreams":
        document = describe_log_streams(store, body)
    elif operation == "FilterLogEvents":
        document = filter_log_events(store, body)
    else:
        raise LogsApiError(
            "UnknownOperationException",
            f"the coldprof emulator does not implement CloudWatch Logs {operation}",
        )
    return Response(200, json.dumps(document).encode(), {}, CONTENT_TYPE)


def describe_log_groups(store: LogStore, body: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeLogGroups: the groups under a prefix, a page at a time."""
    groups = store.groups(str(body.get("logGroupNamePrefix") or ""))
    limit = _limit(body.get("limit"), MAX_GROUPS_PER_PAGE)
    start = _token_index(body.get("nextToken"))
    response: dict[str, Any] = {
        "logGroups": [
            {
                "logGroupName": group.name,
                "creationTime": group.created_ms,
                "arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group.name}:*",
                "storedBytes": group.stored_bytes,
            }
            for group in groups[start : start + limit]
        ]
    }
    if start + limit < len(groups):
        response["nextToken"] = _token(start + limit)
    return response


def describe_log_streams(store: LogStore, body: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeLogStreams: a group's streams, by name, with their first and last events."""
    events = _events(store, body.get("logGroupName"))
    streams: dict[str, list[int]] = {}
    for event in events:
        streams.setdefault(event.stream, []).append(event.timestamp_ms)
    return {
        "logStreams": [
            {
                "logStreamName": name,
                "firstEventTimestamp": min(times),
                "lastEventTimestamp": max(times),
                "creationTime": min(times),
            }
            for name, times in sorted(streams.items())
        ]
    }


def filter_log_events(store: LogStore, body: Mapping[str, Any]) -> dict[str, Any]:
    """FilterLogEvents: a group's events in a time range, streams and filter pattern, paged."""
    events = _events(store, body.get("logGroupName"))
    start = body.get("startTime")
    end = body.get("endTime")
    streams = body.get("logStreamNames") or None
    pattern = str(body.get("filterPattern") or "")
    limit = _limit(body.get("limit"), MAX_EVENTS_PER_PAGE)
    selected = [
        (index, event)
        for index, event in enumerate(events)
        if (start is None or event.timestamp_ms >= int(start))
        and (end is None or event.timestamp_ms <= int(end))
        and (streams is None or event.stream in streams)
        and matches(pattern, event.message)
    ]
    first = _token_index(body.get("nextToken"))
    page = selected[first : first + limit]
    response: dict[str, Any] = {
        "events": [
            {
                "logStreamName": event.stream,
                "timestamp": event.timestamp_ms,
                "message": event.message,
                "ingestionTime": event.timestamp_ms,
                "eventId": str(index),
            }
            for index, event in page
        ],
        "searchedLogStreams": [],
    }
    if first + limit < len(selected):
        response["nextToken"] = _token(first + limit)
    return response


def matches(pattern: str, message: str) -> bool:
    """CloudWatch's term filter patterns: all plain terms must appear, or any `?term` must.

    Terms may be quoted to hold spaces (`?"REPORT RequestId"`). JSON and space-delimited
    selectors (`{ $.x = 1 }`, `[a, b]`) are not supported: they match nothing rather than all.
    """
    pattern = pattern.strip()
    if not pattern:
        return True
    if pattern.startswith(("{", "[")):
        return False
    required: list[str] = []
    optional: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern[index].isspace():
            index += 1
            continue
        target = optional if pattern[index] == "?" else required
        if pattern[index] == "?":
            index += 1
        if index < len(pattern) and pattern[index] == '"':
            end = pattern.find('"', index + 1)
            end = len(pattern) if end < 0 else end
            term = pattern[index + 1 : end]
            index = end + 1
        else:
            end = index
            while end < len(pattern) and not pattern[end].isspace():
                end += 1
            term = pattern[index:end]
            index = end
        if term:
            target.append(term)
    if any(term not in message for term in required):
        return False
    return not optional or any(term in message for term in optional)


def _events(store: LogStore, group: object) -> list[StoredEvent]:
    if not isinstance(group, str) or not group:
        raise LogsApiError("InvalidParameterException", "logGroupName is required")
    events = store.events(group)
    if events is None:
        raise LogsApiError("ResourceNotFoundException", "The specified log group does not exist.")
    return events


def _limit(value: object, maximum: int) -> int:
    if value is None:
        return maximum
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise LogsApiError("InvalidParameterException", f"limit must be 1 to {maximum}")
    return value


def _token(index: int) -> str:
    return base64.urlsafe_b64encode(f"coldprof:{index}".encode()).decode()


def _token_index(token: object) -> int:
    if token is None:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(str(token)).decode().partition(":")
        if prefix != "coldprof":
            raise ValueError(prefix)
        return max(0, int(number))
    except (ValueError, UnicodeDecodeError) as e:
        raise LogsApiError("InvalidParameterException", "The nextToken is not valid.") from e
