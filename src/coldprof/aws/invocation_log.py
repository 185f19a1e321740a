"""One invocation's log as Lambda writes it to CloudWatch: platform lines and output."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from coldprof.aws import report as lambda_logs


@dataclass(frozen=True)
class LogEvent:
    """One log event: when it was written (ms since the epoch) and its text, one line or more."""

    timestamp_ms: int
    message: str


def _iso(timestamp_ms: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class InvocationLog:
    """Collects one invocation's events in the order Lambda writes them.

    Every line the emulator logs for an invocation is made here, so a reader of the log
    (LogType=Tail today, CloudWatch Logs later) sees one format. Function output is added as
    it was captured, each piece in the phase that printed it.
    """

    function_name: str
    version: str
    runtime_version: str
    runtime_version_arn: str
    as_json: bool = False
    events: list[LogEvent] = field(default_factory=list)

    def _add(self, message: str) -> None:
        self.events.append(LogEvent(int(time.time() * 1000), message))

    def _platform(self, kind: str, record: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        line = json.dumps({"time": _iso(now), "type": kind, "record": record})
        self.events.append(LogEvent(now, line))

    # -- init -------------------------------------------------------------------------------
    def init_start(self) -> None:
        if self.as_json:
            self._platform(
                "platform.initStart",
                {
                    "initializationType": "on-demand",
                    "phase": "init",
                    "runtimeVersion": self.runtime_version,
                    "runtimeVersionArn": self.runtime_version_arn,
                    "functionName": self.function_name,
                    "functionVersion": self.version,
                },
            )
        else:
            self._add(
                f"INIT_START Runtime Version: {self.runtime_version}\t"
                f"Runtime Version ARN: {self.runtime_version_arn}"
            )

    def init_report(self, report: lambda_logs.InitReport) -> None:
        if self.as_json:
            line = lambda_logs.format_init_report_json(report, _iso(int(time.time() * 1000)))
            self._add(line)
        else:
            self._add(lambda_logs.format_init_report_line(report))

    # -- output -----------------------------------------------------------------------------
    def output(self, text: str) -> None:
        """What the function printed; nothing when it printed only blank space."""
        if text.strip():
            self._add(text.rstrip("\n"))

    def error(self, line: str | None) -> None:
        """The platform's own error lines (a timeout, a runtime that exited)."""
        if line:
            self._add(line)

    # -- invoke -----------------------------------------------------------------------------
    def start(self, request_id: str) -> None:
        if self.as_json:
            self._platform("platform.start", {"requestId": request_id, "version": self.version})
        else:
            self._add(lambda_logs.format_start_line(request_id, self.version))

    def end(self, report: lambda_logs.InvokeReport) -> None:
        """END (text) or platform.runtimeDone (JSON), then the REPORT."""
        if self.as_json:
            record: dict[str, Any] = {
                "requestId": report.request_id,
                "status": report.status or "success",
                "metrics": {"durationMs": round(report.duration_ms, 3)},
            }
            if report.error_type is not None:
                record["errorType"] = report.error_type
            self._platform("platform.runtimeDone", record)
            self._add(lambda_logs.format_report_json(report, _iso(int(time.time() * 1000))))
        else:
            self._add(lambda_logs.format_end_line(report.request_id))
            self._add(lambda_logs.format_report_line(report))

    def text(self) -> str:
        """The whole log, as LogType=Tail returns it (before the 4 KB cut)."""
        return "".join(event.message + "\n" for event in self.events)
