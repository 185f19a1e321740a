"""Tests for coldprof.aws.invocation_log: one invocation's log, rendered and read back."""

from __future__ import annotations

import json

from coldprof.aws.invocation_log import InvocationLog
from coldprof.aws.report import InitReport, InvokeReport, parse_log

REPORT = InvokeReport(
    request_id="req-1",
    duration_ms=12.5,
    billed_ms=13,
    memory_mb=256,
    max_memory_mb=40,
    init_ms=250.25,
)


def _log(as_json: bool) -> InvocationLog:
    return InvocationLog(
        function_name="fn",
        version="$LATEST",
        runtime_version="python:3.12.local",
        runtime_version_arn="arn:aws:lambda:eu-west-1::runtime:coldprof-local-python3.12.1",
        as_json=as_json,
    )


def test_a_cold_text_log_is_in_lambdas_order_and_reads_back() -> None:
    log = _log(as_json=False)
    log.init_start()
    log.output("module loaded\n")
    log.start("req-1")
    log.output("in handler\n\n")
    log.output("   \n")  # blank output adds nothing
    log.error(None)  # no platform error either
    log.end(REPORT)
    lines = log.text().rstrip("\n").split("\n")
    assert lines[0] == (
        "INIT_START Runtime Version: python:3.12.local\tRuntime Version ARN: "
        "arn:aws:lambda:eu-west-1::runtime:coldprof-local-python3.12.1"
    )
    assert lines[1:4] == ["module loaded", "START RequestId: req-1 Version: $LATEST", "in handler"]
    assert lines[4] == "END RequestId: req-1"
    assert lines[5].startswith("REPORT RequestId: req-1\t")
    assert len(lines) == 6 and len(log.events) == 6
    assert parse_log(log.text()).reports == (REPORT,)


def test_a_json_log_writes_platform_records_that_read_back() -> None:
    log = _log(as_json=True)
    log.init_start()
    log.init_report(InitReport(900.0, "init", "timeout", None))
    log.start("req-1")
    log.error("Task timed out")
    log.end(InvokeReport("req-1", 3.0, 3, 256, 40, status="timeout"))
    records = [json.loads(e.message) for e in log.events if e.message.startswith("{")]
    assert [r["type"] for r in records] == [
        "platform.initStart",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    assert records[0]["record"]["functionName"] == "fn"
    assert records[0]["record"]["runtimeVersion"] == "python:3.12.local"
    assert records[2]["record"] == {"requestId": "req-1", "version": "$LATEST"}
    assert records[3]["record"]["status"] == "timeout"
    assert records[0]["time"].endswith("Z")
    assert "Task timed out" in log.text()
    summary = parse_log(log.text())
    assert [(r.phase, r.status) for r in summary.init_reports] == [("init", "timeout")]
    assert summary.reports[0].status == "timeout"


def test_events_carry_the_time_they_were_written() -> None:
    log = _log(as_json=False)
    log.start("req-1")
    log.end(REPORT)
    stamps = [e.timestamp_ms for e in log.events]
    assert stamps == sorted(stamps) and stamps[0] > 1_700_000_000_000
