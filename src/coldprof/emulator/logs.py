"""The emulator's CloudWatch Logs: each function's log events, per stream, as Lambda writes them.

Log groups outlive their functions, as on AWS (a sweep's temporary functions are deleted; their
logs are what `coldprof logs --local` reads afterwards), so the store is kept on disk, one JSON
line per event. The CloudWatch Logs operations coldprof needs (DescribeLogGroups,
FilterLogEvents) are served on the emulator's own port, in the JSON 1.1 protocol that boto3's
`logs` client speaks: POST / with `X-Amz-Target: Logs_20140328.<Operation>`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_PREFIX = "Logs_20140328."
OPERATIONS = ("DescribeLogGroups", "DescribeLogStreams", "FilterLogEvents")
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


@dataclass(frozen=True)
class LogEvent:
    stream: str
    timestamp_ms: int
    message: str


def stream_name(version: str, now: float | None = None) -> str:
    """A log stream name as Lambda makes one per execution environment: date/[version]id."""
    day = time.strftime("%Y/%m/%d", time.gmtime(time.time() if now is None else now))
    return f"{day}/[{version}]{uuid.uuid4().hex}"


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


class LogStore:
    """Log events by group and stream, in memory and (when given a folder) on disk."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._groups: dict[str, list[LogEvent]] = {}
        self._created: dict[str, int] = {}
        if folder is not None:
            self._load(folder)

    def _file(self, group: str) -> Path:
        assert self.folder is not None
        digest = hashlib.sha256(group.encode()).hexdigest()[:16]
        return self.folder / f"{digest}.jsonl"

    def _load(self, folder: Path) -> None:
        for file in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                try:
                    row = json.loads(line)
                    group, event = row["group"], LogEvent(row["stream"], int(row["ts"]), row["msg"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a killed emulator
                self._groups.setdefault(group, []).append(event)
                self._created.setdefault(group, event.timestamp_ms)

    def put(self, group: str, stream: str, text: str, timestamp_ms: int | None = None) -> None:
        """Add ``text``, one event per line, as one invocation's (or one init's) output."""
        now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        events = [LogEvent(stream, now, line) for line in text.rstrip("\n").split("\n")]
        with self._lock:
            self._groups.setdefault(group, []).extend(events)
            self._created.setdefault(group, now)
            if self.folder is not None:
                try:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    with open(self._file(group), "a", encoding="utf-8") as handle:
                        for event in events:
                            row = {"group": group, "stream": stream, "ts": now}
                            handle.write(json.dumps({**row, "msg": event.message}) + "\n")
                except OSError:
                    pass  # the logs are still served from memory; only persistence is lost

    # -- the API -------------------------------------------------------------------------------
    def handle(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if operation == "DescribeLogGroups":
            return self._describe_groups(body)
        if operation == "DescribeLogStreams":
            return self._describe_streams(body)
        if operation == "FilterLogEvents":
            return self._filter(body)
        raise LogsApiError(
            "UnknownOperationException",
            f"the coldprof emulator does not implement CloudWatch Logs {operation}",
        )

    def _events(self, group: object) -> list[LogEvent]:
        if not isinstance(group, str) or not group:
            raise LogsApiError("InvalidParameterException", "logGroupName is required")
        with self._lock:
            if group not in self._groups:
                raise LogsApiError(
                    "ResourceNotFoundException", "The specified log group does not exist."
                )
            return list(self._groups[group])

    def _describe_groups(self, body: Mapping[str, Any]) -> dict[str, Any]:
        prefix = str(body.get("logGroupNamePrefix") or "")
        limit = _limit(body.get("limit"), MAX_GROUPS_PER_PAGE)
        with self._lock:
            names = sorted(g for g in self._groups if g.startswith(prefix))
            stored = {g: sum(len(e.message) for e in self._groups[g]) for g in names}
        start = _token_index(body.get("nextToken"))
        page = names[start : start + limit]
        response: dict[str, Any] = {
            "logGroups": [
                {
                    "logGroupName": name,
                    "creationTime": self._created.get(name, 0),
                    "arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{name}:*",
                    "storedBytes": stored[name],
                }
                for name in page
            ]
        }
        if start + limit < len(names):
            response["nextToken"] = _token(start + limit)
        return response

    def _describe_streams(self, body: Mapping[str, Any]) -> dict[str, Any]:
        events = self._events(body.get("logGroupName"))
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

    def _filter(self, body: Mapping[str, Any]) -> dict[str, Any]:
        events = self._events(body.get("logGroupName"))
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
