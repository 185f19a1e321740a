"""Logs Insights queries over batches of log groups, polled, and split when rows overflow."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from coldprof.aws.connection import LambdaCallError
from coldprof.logs.summary import Record, records_from_events

if TYPE_CHECKING:
    from coldprof.aws.logs_api import LogsApi

# The service's limits: log groups in one query, rows one query returns.
INSIGHTS_MAX_GROUPS = 50
INSIGHTS_MAX_ROWS = 10_000
INSIGHTS_TIMEOUT_S = 900.0
# A window whose records reach the row limit is split in two and read again, to this depth.
MAX_SPLITS = 12
INSIGHTS_QUERY = (
    "fields @timestamp, @log, @logStream, @message"
    " | filter @message like"
    " /REPORT RequestId:|INIT_REPORT|platform\\.report|platform\\.initReport/"
    " | sort @timestamp asc"
    f" | limit {INSIGHTS_MAX_ROWS}"
)
# Insights is "not available" when the endpoint does not serve it or the caller may not use it.
_NO_INSIGHTS_CODES = frozenset(
    {
        "UnknownOperationException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
    }
)


class InsightsUnavailable(Exception):
    """Logs Insights cannot answer here: read the groups with FilterLogEvents instead."""


class InsightsReader:
    """Logs Insights queries over batches of log groups; splits windows that hit the row limit."""

    def __init__(
        self,
        api: LogsApi,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = 1.0,
        timeout_s: float = INSIGHTS_TIMEOUT_S,
    ) -> None:
        self.api = api
        self.sleep = sleep
        self.poll_s = poll_s
        self.timeout_s = timeout_s

    def read(self, groups: Sequence[str], start_ms: int, end_ms: int) -> dict[str, list[Record]]:
        """Records per log group, read in one query (or more, when the rows overflow)."""
        rows = self._rows(groups, start_ms, end_ms, depth=0)
        events: dict[str, list[tuple[str, str]]] = {g: [] for g in groups}
        for row in rows:
            group = row.get("@log", "")
            # @log is "account:group"; with one group queried it may be the bare name.
            name = group.split(":", 1)[1] if ":" in group else group
            if name not in events and len(groups) == 1:
                name = groups[0]
            events.setdefault(name, []).append((row.get("@logStream", ""), row.get("@message", "")))
        return {group: records_from_events(found) for group, found in events.items()}

    def _rows(
        self, groups: Sequence[str], start_ms: int, end_ms: int, depth: int
    ) -> list[dict[str, str]]:
        try:
            query_id = self.api.start_query(
                groups, start_ms, end_ms, INSIGHTS_QUERY, INSIGHTS_MAX_ROWS
            )
        except LambdaCallError as e:
            if e.code in _NO_INSIGHTS_CODES:
                raise InsightsUnavailable(f"Logs Insights is not available here ({e.code})") from e
            raise
        rows = self._wait(query_id)
        if len(rows) >= INSIGHTS_MAX_ROWS and depth < MAX_SPLITS and end_ms - start_ms > 1000:
            middle = (start_ms + end_ms) // 2
            return self._rows(groups, start_ms, middle, depth + 1) + self._rows(
                groups, middle, end_ms, depth + 1
            )
        return rows

    def _wait(self, query_id: str) -> list[dict[str, str]]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            response = self.api.query_results(query_id)
            status = str(response.get("status", ""))
            if status == "Complete":
                return [
                    {str(c.get("field")): str(c.get("value", "")) for c in row}
                    for row in response.get("results", [])
                ]
            if status not in ("Scheduled", "Running"):
                raise InsightsUnavailable(
                    f"a Logs Insights query ended {status or 'without status'}"
                )
            if time.monotonic() > deadline:
                raise InsightsUnavailable(f"a Logs Insights query ran past {self.timeout_s:.0f} s")
            self.sleep(self.poll_s)
