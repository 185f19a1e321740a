"""Tests for coldprof.aws.report: captured Lambda logs in, typed records out, and back."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from coldprof.aws.report import (
    InitReport,
    InvokeReport,
    LogSummary,
    billed_ms,
    find_report,
    format_end_line,
    format_init_report_json,
    format_init_report_line,
    format_report_json,
    format_report_line,
    format_start_line,
    parse_log,
    platform_error_type,
)

LOGS = Path(__file__).resolve().parents[1] / "assets" / "logs"


def read_log(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


# --- captured text-format logs ------------------------------------------------------------------


def test_warm_text_tail_gives_one_report_without_init() -> None:
    summary = parse_log(read_log("text_warm.log"))

    assert summary.reports == (
        InvokeReport(
            request_id="0b5c7a4e-3f1d-4c2a-9e8b-6d7f1a2b3c4d",
            duration_ms=3.52,
            billed_ms=4.0,
            memory_mb=128,
            max_memory_mb=52,
        ),
    )
    assert summary.init_reports == ()
    assert summary.unparsed == ()


def test_cold_text_tail_reads_init_duration() -> None:
    summary = parse_log(read_log("text_cold.log"))

    (report,) = summary.reports
    assert report.request_id == "5e1f0c9a-82b4-4d6e-a1c3-f7e9d2b4a608"
    assert report.duration_ms == 12.68
    assert report.billed_ms == 309
    assert report.memory_mb == 512
    assert report.max_memory_mb == 93
    assert report.init_ms == 295.33
    assert report.restore_ms is None
    assert summary.unparsed == ()


def test_snapstart_report_reads_restore_and_billed_restore() -> None:
    summary = parse_log(read_log("text_snapstart.log"))

    (report,) = summary.reports
    assert report.init_ms is None
    assert report.restore_ms == 412.93
    assert report.billed_restore_ms == 138
    assert report.memory_mb == 1024
    assert summary.init_reports == ()


def test_init_error_log_gives_both_init_reports_and_the_failed_invoke() -> None:
    summary = parse_log(read_log("text_init_error.log"))

    assert summary.init_reports == (
        InitReport(412.37, "init", "error", "Runtime.ImportModuleError"),
        InitReport(398.02, "invoke", "error", "Runtime.ImportModuleError"),
    )
    (report,) = summary.reports
    assert report.status == "error"
    assert report.duration_ms == 401.56
    assert report.init_ms is None
    assert summary.unparsed == ()


def test_truncated_tail_ignores_its_leading_fragment() -> None:
    text = read_log("tail_truncated.log")
    assert len(text.encode()) == 4096
    assert not text.startswith("[INFO]")  # the asset really does open mid-line

    summary = parse_log(text)

    (report,) = summary.reports
    assert report.request_id == "e8f2a6c4-7b1d-4093-a5e7-1c9d3b6f8a02"
    assert report.duration_ms == 1893.20
    assert report.billed_ms == 2311
    assert report.init_ms == 417.05
    assert summary.unparsed == ()


def test_tail_as_returned_by_invoke_decodes_and_parses() -> None:
    # What the X-Amz-Log-Result header carries: the tail, base64-encoded.
    header = base64.b64encode(read_log("text_cold.log").encode()).decode()

    summary = parse_log(base64.b64decode(header).decode())

    assert summary.reports[0].init_ms == 295.33


# --- captured JSON-format logs ------------------------------------------------------------------


def test_json_log_gives_cold_then_warm_report() -> None:
    summary = parse_log(read_log("json_format.log"))

    cold, warm = summary.reports
    assert cold == InvokeReport(
        request_id="6a0e3c1b-9d27-4f5a-8b64-e2c7d9a1f305",
        duration_ms=14.09,
        billed_ms=249,
        memory_mb=256,
        max_memory_mb=71,
        init_ms=234.766,
        status="success",
    )
    assert warm.request_id == "b71d5e2a-04c8-4a93-9f1e-3d6b8c2a7e40"
    assert warm.init_ms is None
    assert warm.billed_ms == 4
    # platform.initStart, platform.start, runtimeDone and function lines are not reports.
    assert summary.init_reports == ()
    assert summary.unparsed == ()


def test_json_init_timeout_gives_an_init_report() -> None:
    summary = parse_log(read_log("json_init_timeout.log"))

    assert summary.init_reports == (InitReport(9999.79, "init", "timeout"),)
    assert summary.reports == ()


def test_json_init_report_keeps_error_type() -> None:
    line = json.dumps(
        {
            "time": "2026-03-02T12:10:10.001Z",
            "type": "platform.initReport",
            "record": {
                "initializationType": "on-demand",
                "phase": "invoke",
                "status": "error",
                "errorType": "Runtime.ExitError",
                "metrics": {"durationMs": 87.5},
            },
        }
    )

    assert parse_log(line).init_reports == (
        InitReport(87.5, "invoke", "error", "Runtime.ExitError"),
    )


def test_json_report_missing_billed_duration_is_unparsed() -> None:
    # Lambda Managed Instances report durationMs alone: not enough for an InvokeReport.
    line = json.dumps(
        {
            "time": "2026-03-02T12:00:01.062Z",
            "type": "platform.report",
            "record": {"requestId": "r-1", "metrics": {"durationMs": 14.09}, "status": "success"},
        }
    )

    summary = parse_log("START RequestId: r-1 Version: $LATEST\n" + line)

    assert summary.reports == ()
    assert summary.unparsed == ((2, line),)


# --- tolerance ----------------------------------------------------------------------------------


def test_fields_out_of_order_and_space_separated_still_parse() -> None:
    line = (
        "REPORT RequestId: abc-1  Memory Size: 256 MB  Duration: 10.5 ms  "
        "Max Memory Used: 60 MB Init Duration: 250.00 ms Billed Duration: 261 ms"
    )

    (report,) = parse_log(line).reports

    assert report == InvokeReport("abc-1", 10.5, 261, 256, 60, init_ms=250.0)


def test_old_style_report_with_space_before_tab_and_glued_unit() -> None:
    line = (
        "REPORT RequestId: b4ed494c-ef6e-11e7-a6f0-f73d0ba7827e\tDuration: 904.52 ms\t"
        "Billed Duration: 1000 ms \tMemory Size: 128 MB\tMax Memory Used: 41 MB\t"
        "Init Duration: 98ms"
    )

    (report,) = parse_log(line).reports

    assert report.billed_ms == 1000
    assert report.init_ms == 98.0


def test_report_with_cloudwatch_prefix_is_found() -> None:
    line = (
        "2026/03/02/[$LATEST]2079e8a6 2026-03-02T08:47:01.034000+00:00 "
        "REPORT RequestId: a5102125\tDuration: 12.68 ms\tBilled Duration: 309 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 93 MB\tInit Duration: 295.33 ms\t"
    )

    (report,) = parse_log(line).reports

    assert report.request_id == "a5102125"
    assert report.init_ms == 295.33


def test_two_records_glued_on_one_line_are_both_read() -> None:
    first = format_report_line(InvokeReport("r-1", 1.0, 1, 128, 40))
    second = format_report_line(InvokeReport("r-2", 2.0, 2, 128, 41))

    summary = parse_log(first + second)

    assert [r.request_id for r in summary.reports] == ["r-1", "r-2"]


def test_crlf_line_endings() -> None:
    text = read_log("text_cold.log").replace("\n", "\r\n")

    summary = parse_log(text)

    assert summary.reports[0].init_ms == 295.33
    assert summary.unparsed == ()


def test_bare_init_report_is_a_successful_init() -> None:
    # SnapStart writes the init of a published version this way.
    summary = parse_log("INIT_REPORT Init Duration: 9908.09 ms")

    assert summary.init_reports == (InitReport(9908.09, "init", "success"),)


def test_unreadable_report_lines_are_listed_with_their_line_numbers() -> None:
    text = "\n".join(
        [
            "START RequestId: r-1 Version: $LATEST",
            "REPORT RequestId: r-1\tDuration: 12.0 ms",  # cut short
            "INIT_REPORT Phase: init\tStatus: error",  # no duration
            "REPORT RequestId: r-2\tDuration: abc ms\tBilled Duration: 1 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB",
            "REPORT RequestId: r-3\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: soon ms",
            '{"type": "platform.report", "record": {"requestId": ',  # broken JSON
            "just function output mentioning a REPORT",
        ]
    )

    summary = parse_log(text)

    assert summary.reports == ()
    assert [number for number, _ in summary.unparsed] == [2, 3, 4, 5, 6]
    assert summary.unparsed[0][1] == "REPORT RequestId: r-1\tDuration: 12.0 ms"


def test_fractional_memory_is_unparsed_not_truncated() -> None:
    line = (
        "REPORT RequestId: r-1\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 128.5 MB\tMax Memory Used: 40 MB\t"
    )

    assert parse_log(line).unparsed == ((1, line),)


def test_json_that_merely_mentions_a_report_type_is_ignored() -> None:
    # Function output: a plain-text record quoting one, and an app log nesting one.
    quoted = json.dumps({"type": "function", "record": '"type": "platform.report"'})
    nested = json.dumps({"level": "INFO", "note": {"type": "platform.report"}})

    summary = parse_log(quoted + "\n" + nested)

    assert summary.reports == ()
    assert summary.unparsed == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n\n",
        "REPORT RequestId:",
        "REPORT RequestId: \t\t\t",
        "INIT_REPORT",
        "\x00\xff\u2028REPORT RequestId: x\x0cDuration: 1 ms",
        '{"type":"platform.report","record":' + "[" * 100_000,
        '{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1e999,'
        '"billedDurationMs":1,"memorySizeMB":128,"maxMemoryUsedMB":1}}}',
        '{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":true,'
        '"billedDurationMs":1,"memorySizeMB":128,"maxMemoryUsedMB":1}}}',
        '{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1,'
        '"billedDurationMs":1,"memorySizeMB":' + "9" * 400 + ',"maxMemoryUsedMB":1}}}',
        '{"type":"platform.initReport","record":{"metrics":[]}}',
        '{"type":"platform.report"}',
        '["type", "platform.report"]',
        "REPORT RequestId: " + "A " * 50_000,
    ],
)
def test_never_raises(text: str) -> None:
    summary = parse_log(text)

    assert isinstance(summary, LogSummary)
    assert summary.reports == ()


# --- find_report --------------------------------------------------------------------------------


def test_find_report_by_request_id() -> None:
    summary = parse_log(read_log("json_format.log"))

    found = find_report(summary, "b71d5e2a-04c8-4a93-9f1e-3d6b8c2a7e40")

    assert found is not None
    assert found.duration_ms == 3.48
    assert find_report(summary, "no-such-request") is None


def test_find_report_prefers_the_latest_of_a_repeated_id() -> None:
    first = format_report_line(InvokeReport("r-1", 5.0, 5, 128, 40))
    retry = format_report_line(InvokeReport("r-1", 7.0, 7, 128, 40))

    found = find_report(parse_log(first + "\n" + retry), "r-1")

    assert found is not None
    assert found.duration_ms == 7.0


# --- formatters ---------------------------------------------------------------------------------


def test_report_line_is_lambdas_exact_text() -> None:
    report = InvokeReport("req-1", 12.34, 13, 128, 40, init_ms=100.123)

    assert format_report_line(report) == (
        "REPORT RequestId: req-1\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 100.12 ms\t"
    )


def test_warm_report_line_has_no_init_duration() -> None:
    line = format_report_line(InvokeReport("req-2", 3.0, 3, 256, 50))

    assert line == (
        "REPORT RequestId: req-2\tDuration: 3.00 ms\tBilled Duration: 3 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 50 MB\t"
    )


def test_snapstart_report_line_puts_restore_before_init() -> None:
    line = format_report_line(
        InvokeReport("r", 4.89, 5, 1024, 118, restore_ms=412.93, billed_restore_ms=138)
    )

    assert line.endswith(
        "Max Memory Used: 118 MB\tRestore Duration: 412.93 ms\tBilled Restore Duration: 138 ms\t"
    )


def test_report_line_names_a_failure_status_but_not_success() -> None:
    timeout = format_report_line(InvokeReport("r", 3000.0, 3000, 128, 60, status="timeout"))
    success = format_report_line(InvokeReport("r", 3.0, 3, 128, 60, status="success"))

    assert timeout.endswith("Max Memory Used: 60 MB\tStatus: timeout\t")
    assert "Status" not in success


def test_start_end_and_init_report_lines() -> None:
    assert format_start_line("req-1") == "START RequestId: req-1 Version: $LATEST"
    assert format_start_line("req-1", version="3") == "START RequestId: req-1 Version: 3"
    assert format_end_line("req-1") == "END RequestId: req-1"
    assert format_init_report_line(InitReport(10000.5, "init", "timeout")) == (
        "INIT_REPORT Init Duration: 10000.50 ms\tPhase: init\tStatus: timeout"
    )
    assert format_init_report_line(InitReport(150.79, "init", "error", "Runtime.ExitError")) == (
        "INIT_REPORT Init Duration: 150.79 ms\tPhase: init\tStatus: error\t"
        "Error Type: Runtime.ExitError"
    )


def test_report_json_has_the_documented_shape() -> None:
    line = format_report_json(
        InvokeReport("req-1", 693.92, 694, 128, 84, init_ms=397.68), "2026-03-02T12:00:01.062Z"
    )

    assert json.loads(line) == {
        "time": "2026-03-02T12:00:01.062Z",
        "type": "platform.report",
        "record": {
            "requestId": "req-1",
            "metrics": {
                "durationMs": 693.92,
                "billedDurationMs": 694,
                "memorySizeMB": 128,
                "maxMemoryUsedMB": 84,
                "initDurationMs": 397.68,
            },
            "status": "success",
        },
    }
    assert "\n" not in line


def test_init_report_json_has_the_documented_shape() -> None:
    line = format_init_report_json(
        InitReport(125.33, "init", "error", "Runtime.ImportModuleError"), "2026-03-02T12:00:00Z"
    )

    assert json.loads(line) == {
        "time": "2026-03-02T12:00:00Z",
        "type": "platform.initReport",
        "record": {
            "initializationType": "on-demand",
            "phase": "init",
            "status": "error",
            "errorType": "Runtime.ImportModuleError",
            "metrics": {"durationMs": 125.33},
        },
    }


def test_report_with_status_and_error_type_is_read() -> None:
    # The shape Lambda writes for an environment killed past its memory (fields tab-separated).
    line = (
        "REPORT RequestId: 276ff3b9-1609-4ee7-a288-db3752630767\tDuration: 10935.70 ms\t"
        "Billed Duration: 10936 ms\tMemory Size: 1024 MB\tMax Memory Used: 1024 MB\t"
        "Status: error\tError Type: Runtime.OutOfMemory"
    )
    (report,) = parse_log(line).reports
    assert (report.status, report.error_type) == ("error", "Runtime.OutOfMemory")
    assert report.max_memory_mb == 1024 and report.init_ms is None
    # Space-separated, as some log viewers show it.
    (spaced,) = parse_log(line.replace("\t", " ")).reports
    assert spaced == report


def test_report_line_writes_the_error_type_after_the_status() -> None:
    line = format_report_line(
        InvokeReport("r", 35.5, 36, 512, 3, status="error", error_type="Runtime.ExitError")
    )
    assert line.endswith("Max Memory Used: 3 MB\tStatus: error\tError Type: Runtime.ExitError\t")


@pytest.mark.parametrize(
    ("posted", "recorded"),
    [
        ("Runtime.ImportModuleError", "Runtime.ImportModuleError"),
        ("Function.ResponseSizeTooLarge", "Function.ResponseSizeTooLarge"),
        ("ValueError", "Runtime.Unknown"),
        ("Function.x", "Function.Unknown"),
        (None, "Runtime.Unknown"),
    ],
)
def test_platform_error_type_keeps_only_lambda_error_names(
    posted: str | None, recorded: str
) -> None:
    assert platform_error_type(posted) == recorded


ROUND_TRIP_REPORTS = [
    InvokeReport("warm", 3.52, 4, 128, 52),
    InvokeReport("cold", 12.68, 309, 512, 93, init_ms=295.33),
    InvokeReport("snap", 4.89, 5, 1024, 118, restore_ms=412.93, billed_restore_ms=138),
    InvokeReport("slow", 3000.0, 3000, 10240, 9000, status="timeout"),
    InvokeReport(
        "oom", 10935.7, 10936, 1024, 1024, status="error", error_type="Runtime.OutOfMemory"
    ),
]


@pytest.mark.parametrize("report", ROUND_TRIP_REPORTS, ids=lambda r: r.request_id)
def test_text_round_trip(report: InvokeReport) -> None:
    log = "\n".join(
        [
            format_start_line(report.request_id),
            "some function output",
            format_end_line(report.request_id),
            format_report_line(report),
        ]
    )

    assert parse_log(log).reports == (report,)


@pytest.mark.parametrize(
    "report",
    # The JSON schema has no billed restore duration, and always names a status.
    [
        InvokeReport("warm", 3.52, 4, 128, 52, status="success"),
        InvokeReport("cold", 14.09, 249, 256, 71, init_ms=234.766, status="success"),
        InvokeReport("snap", 4.89, 5, 1024, 118, restore_ms=412.93, status="success"),
        InvokeReport("slow", 3000.0, 3000, 128, 60, status="timeout"),
        InvokeReport("exit", 35.5, 36, 512, 3, status="error", error_type="Runtime.ExitError"),
    ],
    ids=lambda r: r.request_id,
)
def test_json_round_trip(report: InvokeReport) -> None:
    assert parse_log(format_report_json(report, "2026-03-02T12:00:00.000Z")).reports == (report,)


@pytest.mark.parametrize(
    "init",
    [
        InitReport(412.37, "init", "error", "Runtime.ImportModuleError"),
        InitReport(9999.79, "init", "timeout"),
        InitReport(398.02, "invoke", "error", "Runtime.ExitError"),
    ],
)
def test_init_report_round_trips_in_both_formats(init: InitReport) -> None:
    assert parse_log(format_init_report_line(init)).init_reports == (init,)
    assert parse_log(format_init_report_json(init, "2026-03-02T12:00:00Z")).init_reports == (init,)


# --- billed_ms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "billed"),
    [(12.01, 13), (12.0, 12), (0.4, 1), (1893.2, 1894), (295.33 + 12.68, 309)],
)
def test_billed_ms_rounds_up_to_the_whole_ms(duration: float, billed: int) -> None:
    assert billed_ms(duration) == billed


@pytest.mark.parametrize("duration", [-1.0, float("nan"), float("inf")])
def test_billed_ms_rejects_impossible_durations(duration: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        billed_ms(duration)
