"""The CloudWatch Logs calls coldprof makes: one REPORT by request id, groups, Insights, filters."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from coldprof.aws.connection import RETRYABLE_CODES, AwsClient

# Logs Insights says "too many queries at once" with LimitExceededException: wait and retry.
INSIGHTS_RETRYABLE_CODES = RETRYABLE_CODES | {"LimitExceededException"}


class LogsApi(AwsClient):
    """The CloudWatch Logs calls, with the same retries and error mapping as Lambda's."""

    service = "logs"

    def logs_for_request(
        self, log_group: str, request_id: str, since_ms: int, attempts: int = 6
    ) -> str:
        """The REPORT for `request_id` from CloudWatch Logs, when the tail lacked it.

        Log delivery lags the invoke by a few seconds, so this polls with backoff; an empty
        string means the record never showed up.
        """
        action = f"reading {log_group} from CloudWatch Logs"
        for attempt in range(1, attempts + 1):
            response = self._call(
                action,
                lambda: self.client.filter_log_events(
                    logGroupName=log_group,
                    startTime=max(0, since_ms - 60_000),
                    filterPattern=f'"{request_id}"',
                ),
            )
            messages = [e.get("message", "") for e in response.get("events", [])]
            text = "\n".join(m.rstrip("\n") for m in messages)
            if "REPORT" in text or "platform.report" in text:
                return text
            if attempt < attempts:
                self._sleep(self._backoff(attempt))
        return ""

    def log_group_names(self, prefix: str) -> list[str]:
        """The log groups whose names start with ``prefix`` (DescribeLogGroups, all pages)."""
        names: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupNamePrefix": prefix}
            if token:
                kwargs["nextToken"] = token
            page = self._call(
                "listing log groups",
                functools.partial(self.client.describe_log_groups, **kwargs),
            )
            names += [str(g["logGroupName"]) for g in page.get("logGroups", [])]
            token = page.get("nextToken")
            if not token:
                return names

    def start_query(
        self, log_groups: Iterable[str], start_ms: int, end_ms: int, query: str, limit: int
    ) -> str:
        """StartQuery (Logs Insights) over several log groups; returns the query id."""
        groups = list(log_groups)
        response = self._call(
            f"starting a Logs Insights query over {len(groups)} log groups",
            lambda: self.client.start_query(
                logGroupNames=groups,
                startTime=start_ms // 1000,
                endTime=-(-end_ms // 1000),
                queryString=query,
                limit=limit,
            ),
            retryable=INSIGHTS_RETRYABLE_CODES,
        )
        return str(response["queryId"])

    def query_results(self, query_id: str) -> Mapping[str, Any]:
        """GetQueryResults: the query's status and, once complete, its rows."""
        result: Mapping[str, Any] = self._call(
            "reading a Logs Insights query's results",
            lambda: self.client.get_query_results(queryId=query_id),
            retryable=INSIGHTS_RETRYABLE_CODES,
        )
        return result

    def filter_log_events(
        self, log_group: str, start_ms: int, end_ms: int, pattern: str
    ) -> list[Mapping[str, Any]]:
        """FilterLogEvents over the whole window, all pages: each event's stream and message."""
        events: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": log_group,
                "startTime": start_ms,
                "endTime": end_ms,
                "filterPattern": pattern,
            }
            if token:
                kwargs["nextToken"] = token
            page = self._call(
                f"reading {log_group}",
                functools.partial(self.client.filter_log_events, **kwargs),
            )
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token:
                return events
