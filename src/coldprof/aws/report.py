"""Lambda's REPORT / INIT_REPORT / platform.report log records: parse them, and format them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# Record shapes, from the Lambda Telemetry API event schema reference
# (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html), which the JSON
# log format also writes to CloudWatch, one object per line:
#   platform.report:     {"time", "type", "record": {"requestId", "status", "errorType"?,
#                          "metrics": {
#                          "durationMs": Double, "billedDurationMs": Integer,
#                          "memorySizeMB": Integer, "maxMemoryUsedMB": Integer,
#                          "initDurationMs"?: Double, "restoreDurationMs"?: Double}}}
#   platform.initReport: {"time", "type", "record": {"initializationType": on-demand|
#                          provisioned-concurrency, "phase": init|invoke|snap-start,
#                          "status": success|failure|error|timeout, "errorType"?: String,
#                          "metrics": {"durationMs": Double}, "spans"?: [...]}}
# The JSON report has no billed restore duration; only the text line carries one.
# On Lambda Managed Instances platform.report carries durationMs alone: such a record is unparsed.

REPORT_TYPE = "platform.report"
INIT_REPORT_TYPE = "platform.initReport"


@dataclass(frozen=True)
class InvokeReport:
    """One invocation's REPORT: what it took, what was billed, and the cold-start fields."""

    request_id: str
    duration_ms: float
    billed_ms: float
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None = None
    restore_ms: float | None = None
    billed_restore_ms: float | None = None
    status: str | None = None  # "timeout", "error", ...; None (text) or "success" when it went well
    error_type: str | None = None  # with a status of "error": Runtime.ExitError, ...


@dataclass(frozen=True)
class InitReport:
    """An INIT_REPORT: an init that failed or timed out, or one reported apart from an invoke."""

    init_ms: float
    phase: str
    status: str
    error_type: str | None = None


@dataclass(frozen=True)
class LogSummary:
    """Everything read from one log; `unparsed` holds (line number, text) of unreadable reports."""

    reports: tuple[InvokeReport, ...]
    init_reports: tuple[InitReport, ...]
    unparsed: tuple[tuple[int, str], ...]


# Where a record starts inside a line. Searching rather than anchoring lets a line carry a prefix
# (`aws logs tail` adds the stream and time) and lets two records glued together be split.
_TEXT_MARKER = re.compile(r"INIT_REPORT\b|REPORT RequestId:")
_JSON_TYPE = re.compile(r'"type"\s*:\s*"platform\.(?:report|initReport)"')
# `Key: value [unit]`. Keys are Title Case words; taking the unit into the match keeps "MB" from
# being read as the first word of the next key when fields are separated by spaces, not tabs.
# Key words are bounded so that a long run of capitalised words cannot make matching quadratic.
_FIELD = re.compile(
    r"([A-Z][A-Za-z]{0,30}(?: [A-Z][A-Za-z]{0,30}){0,4}):[ \t]*(\S+)(?:[ \t]*(?:ms|MB)\b)?"
)
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(?:ms|MB)?")


def parse_log(text: str) -> LogSummary:
    """Read every report in a Lambda log, text or JSON format; never raises.

    The log may be the base64-decoded `LogType=Tail` result, whose first line can be a fragment
    (Lambda keeps the last 4 KB), or concatenated CloudWatch events. Lines that are not reports
    (function output, START/END, fragments without a report marker) are ignored; lines that carry
    a report marker but cannot be read land in `unparsed`.
    """
    reports: list[InvokeReport] = []
    init_reports: list[InitReport] = []
    unparsed: list[tuple[int, str]] = []
    # split("\n") rather than splitlines(): function output may hold \x0c or \u2028, and
    # splitlines() would break there and shift every later line number.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        try:
            ok = _parse_line(line, reports, init_reports)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
            # A defensive net: the helpers validate their input, but one odd line must never
            # cost the caller the rest of the log.
            ok = False
        if not ok:
            unparsed.append((number, line))
    return LogSummary(tuple(reports), tuple(init_reports), tuple(unparsed))


def find_report(summary: LogSummary, request_id: str) -> InvokeReport | None:
    """The report for `request_id`, or None; the last one wins, since a retry reuses the id."""
    for report in reversed(summary.reports):
        if report.request_id == request_id:
            return report
    return None


# Lambda's platform keeps an error type a runtime posts only when it names a Runtime or Function
# error (unanchored, as Lambda matches it); anything else, such as a Python exception's class
# name, is recorded as Runtime.Unknown (Function.Unknown for other Function.* names).
_PLATFORM_ERROR_TYPE = re.compile(r"(?:Runtime|Function)\.[A-Z][a-zA-Z]+")


def platform_error_type(posted: str | None) -> str:
    """The error type INIT_REPORT and REPORT carry for one a runtime posted."""
    if posted and _PLATFORM_ERROR_TYPE.search(posted):
        return posted
    if posted and posted.startswith("Function."):
        return "Function.Unknown"
    return "Runtime.Unknown"


def billed_ms(duration_ms: float) -> int:
    """Billed duration for a measured one: Lambda bills in whole milliseconds, rounding up."""
    if not math.isfinite(duration_ms) or duration_ms < 0:
        raise ValueError(f"duration must be a finite, non-negative number of ms, not {duration_ms}")
    return math.ceil(duration_ms)


# --- formatting, for the local emulator ---------------------------------------------------------


def format_report_line(report: InvokeReport) -> str:
    """Lambda's text REPORT line, trailing tab included.

    Durations print with 2 decimals, as Lambda prints them, so a round trip keeps 0.01 ms.
    Status is written only when it is not "success": Lambda's text line names a timeout or an
    error (`Status: error<TAB>Error Type: Runtime.OutOfMemory`) but says nothing on success.
    """
    fields = [
        f"REPORT RequestId: {report.request_id}",
        f"Duration: {report.duration_ms:.2f} ms",
        f"Billed Duration: {_whole(report.billed_ms)} ms",
        f"Memory Size: {report.memory_mb} MB",
        f"Max Memory Used: {report.max_memory_mb} MB",
    ]
    if report.restore_ms is not None:
        fields.append(f"Restore Duration: {report.restore_ms:.2f} ms")
        if report.billed_restore_ms is not None:
            fields.append(f"Billed Restore Duration: {_whole(report.billed_restore_ms)} ms")
    if report.init_ms is not None:
        fields.append(f"Init Duration: {report.init_ms:.2f} ms")
    if report.status is not None and report.status != "success":
        fields.append(f"Status: {report.status}")
        if report.error_type is not None:
            fields.append(f"Error Type: {report.error_type}")
    return "\t".join(fields) + "\t"


def format_start_line(request_id: str, version: str = "$LATEST") -> str:
    """Lambda's START line."""
    return f"START RequestId: {request_id} Version: {version}"


def format_end_line(request_id: str) -> str:
    """Lambda's END line."""
    return f"END RequestId: {request_id}"


def format_init_report_line(init: InitReport) -> str:
    """Lambda's text INIT_REPORT line."""
    fields = [
        f"INIT_REPORT Init Duration: {init.init_ms:.2f} ms",
        f"Phase: {init.phase}",
        f"Status: {init.status}",
    ]
    if init.error_type is not None:
        fields.append(f"Error Type: {init.error_type}")
    return "\t".join(fields)


def format_report_json(report: InvokeReport, time_iso: str) -> str:
    """A JSON-format `platform.report` line.

    The schema has no billed restore duration, so `billed_restore_ms` is not written; a missing
    status is written as "success" because the schema requires one.
    """
    metrics: dict[str, Any] = {
        "durationMs": round(report.duration_ms, 3),
        # The schema's billed duration is an Integer; a fraction is kept rather than hidden.
        "billedDurationMs": (
            int(report.billed_ms) if float(report.billed_ms).is_integer() else report.billed_ms
        ),
        "memorySizeMB": report.memory_mb,
        "maxMemoryUsedMB": report.max_memory_mb,
    }
    if report.init_ms is not None:
        metrics["initDurationMs"] = round(report.init_ms, 3)
    if report.restore_ms is not None:
        metrics["restoreDurationMs"] = round(report.restore_ms, 3)
    record: dict[str, Any] = {
        "requestId": report.request_id,
        "metrics": metrics,
        "status": report.status if report.status is not None else "success",
    }
    if report.error_type is not None:
        record["errorType"] = report.error_type
    return json.dumps({"time": time_iso, "type": REPORT_TYPE, "record": record})


def format_init_report_json(
    init: InitReport, time_iso: str, initialization_type: str = "on-demand"
) -> str:
    """A JSON-format `platform.initReport` line."""
    record: dict[str, Any] = {
        "initializationType": initialization_type,
        "phase": init.phase,
        "status": init.status,
        "metrics": {"durationMs": round(init.init_ms, 3)},
    }
    if init.error_type is not None:
        record["errorType"] = init.error_type
    return json.dumps({"time": time_iso, "type": INIT_REPORT_TYPE, "record": record})


# --- helpers ------------------------------------------------------------------------------------


def _parse_line(line: str, reports: list[InvokeReport], init_reports: list[InitReport]) -> bool:
    """Add what `line` holds to the lists; False when it looked like a report but was unreadable."""
    if _JSON_TYPE.search(line):
        return _parse_json_line(line, reports, init_reports)
    starts = [match.start() for match in _TEXT_MARKER.finditer(line)]
    ok = True
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(line)
        segment = line[start:end]
        if segment.startswith("INIT_REPORT"):
            init = _parse_init_fields(_fields(segment[len("INIT_REPORT") :]))
            if init is None:
                ok = False
            else:
                init_reports.append(init)
        else:
            report = _parse_report_fields(_fields(segment[len("REPORT ") :]))
            if report is None:
                ok = False
            else:
                reports.append(report)
    return ok


def _fields(text: str) -> dict[str, str]:
    """`Key: value` pairs; the first of a repeated key wins."""
    fields: dict[str, str] = {}
    for match in _FIELD.finditer(text):
        fields.setdefault(match.group(1), match.group(2))
    return fields


def _parse_report_fields(fields: dict[str, str]) -> InvokeReport | None:
    request_id = fields.get("RequestId")
    duration = _text_number(fields.get("Duration"))
    billed = _text_number(fields.get("Billed Duration"))
    memory = _text_whole(fields.get("Memory Size"))
    used = _text_whole(fields.get("Max Memory Used"))
    if not request_id or duration is None or billed is None or memory is None or used is None:
        return None
    optional = {
        key: _text_number(fields.get(key))
        for key in ("Init Duration", "Restore Duration", "Billed Restore Duration")
    }
    # A field that is present but unreadable makes the whole line unreadable rather than
    # silently turning a cold start into a warm one.
    if any(fields.get(key) is not None and value is None for key, value in optional.items()):
        return None
    return InvokeReport(
        request_id=request_id,
        duration_ms=duration,
        billed_ms=billed,
        memory_mb=memory,
        max_memory_mb=used,
        init_ms=optional["Init Duration"],
        restore_ms=optional["Restore Duration"],
        billed_restore_ms=optional["Billed Restore Duration"],
        status=fields.get("Status"),
        error_type=fields.get("Error Type"),
    )


def _parse_init_fields(fields: dict[str, str]) -> InitReport | None:
    init_ms = _text_number(fields.get("Init Duration"))
    if init_ms is None:
        return None
    # SnapStart and provisioned concurrency log a successful init as a bare
    # `INIT_REPORT Init Duration: X ms`; failures always name their phase and status.
    return InitReport(
        init_ms=init_ms,
        phase=fields.get("Phase", "init"),
        status=fields.get("Status", "success"),
        error_type=fields.get("Error Type"),
    )


def _parse_json_line(
    line: str, reports: list[InvokeReport], init_reports: list[InitReport]
) -> bool:
    brace = line.find("{")
    if brace < 0:
        return False
    try:
        event, _ = json.JSONDecoder().raw_decode(line, brace)
    except ValueError:
        return False
    if not isinstance(event, dict):
        return False
    kind = event.get("type")
    if kind not in (REPORT_TYPE, INIT_REPORT_TYPE):
        # Another event whose text merely mentions a report type: not a report.
        return True
    record = event.get("record")
    if not isinstance(record, dict):
        return False
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        return False
    if kind == REPORT_TYPE:
        report = _report_from_json(record, metrics)
        if report is None:
            return False
        reports.append(report)
        return True
    init = _init_from_json(record, metrics)
    if init is None:
        return False
    init_reports.append(init)
    return True


def _report_from_json(record: dict[str, Any], metrics: dict[str, Any]) -> InvokeReport | None:
    request_id = record.get("requestId")
    duration = _json_number(metrics.get("durationMs"))
    billed = _json_number(metrics.get("billedDurationMs"))
    memory = _json_whole(metrics.get("memorySizeMB"))
    used = _json_whole(metrics.get("maxMemoryUsedMB"))
    if not isinstance(request_id, str) or not request_id:
        return None
    if duration is None or billed is None or memory is None or used is None:
        return None
    init_ms = _json_number(metrics.get("initDurationMs"))
    restore_ms = _json_number(metrics.get("restoreDurationMs"))
    if (metrics.get("initDurationMs") is not None and init_ms is None) or (
        metrics.get("restoreDurationMs") is not None and restore_ms is None
    ):
        return None
    status = record.get("status")
    error_type = record.get("errorType")
    return InvokeReport(
        request_id=request_id,
        duration_ms=duration,
        billed_ms=billed,
        memory_mb=memory,
        max_memory_mb=used,
        init_ms=init_ms,
        restore_ms=restore_ms,
        status=status if isinstance(status, str) else None,
        error_type=error_type if isinstance(error_type, str) else None,
    )


def _init_from_json(record: dict[str, Any], metrics: dict[str, Any]) -> InitReport | None:
    init_ms = _json_number(metrics.get("durationMs"))
    phase = record.get("phase")
    status = record.get("status")
    if init_ms is None or not isinstance(phase, str) or not isinstance(status, str):
        return None
    error_type = record.get("errorType")
    return InitReport(
        init_ms=init_ms,
        phase=phase,
        status=status,
        error_type=error_type if isinstance(error_type, str) else None,
    )


def _text_number(value: str | None) -> float | None:
    if value is None:
        return None
    match = _NUMBER.fullmatch(value)
    return float(match.group(1)) if match else None


def _text_whole(value: str | None) -> int | None:
    number = _text_number(value)
    return int(number) if number is not None and number.is_integer() else None


def _json_number(value: object) -> float | None:
    # bool is an int to Python but never a duration; inf and NaN are not measurements.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _json_whole(value: object) -> int | None:
    number = _json_number(value)
    return int(number) if number is not None and number.is_integer() else None


def _whole(value: float) -> str:
    """A billed figure as Lambda prints it: an integer; a fraction is kept rather than hidden."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
