"""What `coldprof logs` was asked to read: the functions and the time window."""

from __future__ import annotations

import re
from dataclasses import dataclass

from coldprof.errors import UsageError

DEFAULT_WINDOW_MS = 7 * 86_400_000


@dataclass(frozen=True)
class LogsRequest:
    """What `coldprof logs` was asked to read."""

    functions: tuple[str, ...] = ()
    all_functions: bool = False
    start_ms: int | None = None
    end_ms: int | None = None
    by: str | None = None  # "version" or "memory"
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    local: bool = False

    def window(self, now_ms: int) -> tuple[int, int]:
        end = self.end_ms if self.end_ms is not None else now_ms
        start = self.start_ms if self.start_ms is not None else end - DEFAULT_WINDOW_MS
        if start >= end:
            raise UsageError("the window is empty: --start must come before --end")
        return start, end


def parse_since(value: str) -> int:
    """`7d`, `12h`, `30m`, `90s` as milliseconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
    if not match:
        raise UsageError(f"--since {value!r}: expected a number and a unit, e.g. 7d, 12h, 30m")
    unit_ms = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
    return int(float(match.group(1)) * unit_ms[match.group(2)])


def parse_time(value: str, option: str) -> int:
    """An ISO 8601 time (UTC unless it says otherwise), or epoch seconds, as epoch ms."""
    import datetime

    text = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return int(float(text) * 1000)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise UsageError(f"{option} {value!r}: not an ISO 8601 time or epoch seconds") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)
