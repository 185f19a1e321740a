"""The emulator's CloudWatch Logs store: each function's log events, per group and stream."""

# Log groups outlive their functions, as on AWS (a sweep's temporary functions are deleted; their
# logs are what `coldprof logs --local` reads afterwards), so the store is kept on disk, one JSON
# line per event.

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredEvent:
    """One log event in a group: its stream, when it was written, and one line of text."""

    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True)
class GroupSummary:
    """A log group as DescribeLogGroups lists it."""

    name: str
    created_ms: int
    stored_bytes: int


def stream_name(version: str, now: float | None = None) -> str:
    """A log stream name as Lambda makes one per execution environment: date/[version]id."""
    day = time.strftime("%Y/%m/%d", time.gmtime(time.time() if now is None else now))
    return f"{day}/[{version}]{uuid.uuid4().hex}"


class LogStore:
    """Log events by group and stream, in memory and (when given a folder) on disk."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._groups: dict[str, list[StoredEvent]] = {}
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
                    group = row["group"]
                    event = StoredEvent(row["stream"], int(row["ts"]), row["msg"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a killed emulator
                self._groups.setdefault(group, []).append(event)
                self._created.setdefault(group, event.timestamp_ms)

    def put(self, group: str, stream: str, text: str, timestamp_ms: int | None = None) -> None:
        """Add ``text``, one event per line, as one invocation's (or one init's) output."""
        now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        events = [StoredEvent(stream, now, line) for line in text.rstrip("\n").split("\n")]
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

    def groups(self, prefix: str = "") -> list[GroupSummary]:
        """The log groups whose name starts with ``prefix``, by name."""
        with self._lock:
            return [
                GroupSummary(
                    name,
                    self._created.get(name, 0),
                    sum(len(e.message) for e in self._groups[name]),
                )
                for name in sorted(g for g in self._groups if g.startswith(prefix))
            ]

    def events(self, group: str) -> list[StoredEvent] | None:
        """A group's events in the order they were written; None when there is no such group."""
        with self._lock:
            found = self._groups.get(group)
            return list(found) if found is not None else None
