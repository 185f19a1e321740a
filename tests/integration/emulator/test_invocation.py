"""One invocation run to its end: its log in Lambda's order and formats, and how it fails."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from coldprof.aws.report import parse_log
from coldprof.emulator.server import LocalLambda
from lambda_client import PID_HANDLER, client_for, create, invoke, report_of

SLOW_INIT = """
import os, time
print("init ran")
time.sleep(float(os.environ.get("INIT_SLEEP_S", "0")))

def handler(event, context):
    print("handler ran")
    return {"pid": os.getpid()}
"""


INIT_LIMIT_S = 1.0


INIT_SLEEP_S = 1.5


@pytest.fixture(scope="module")
def short_init() -> Any:
    """An emulator whose init limit is 1 s instead of Lambda's 10 s."""
    with LocalLambda(update_seconds=0.0, init_limit_s=INIT_LIMIT_S) as url:
        yield client_for(url)


def _json_records(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


# -- the log -------------------------------------------------------------------------------------
def test_json_log_format_writes_platform_report(lam: Any) -> None:
    name = create(lam, PID_HANDLER, LoggingConfig={"LogFormat": "JSON"})
    _, log, _ = invoke(lam, name)
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    types = [r.get("type") for r in records]
    assert "platform.start" in types and types[-1] == "platform.report"
    assert records[-1]["record"]["metrics"]["initDurationMs"] > 0
    assert report_of(log).init_ms is not None


def _phases(log: str) -> tuple[list[str], list[str]]:
    """A cold text log split into (lines before START, lines between START and END)."""
    lines = log.rstrip("\n").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("START RequestId:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("END RequestId:"))
    assert lines[0].startswith("INIT_START") and start < end, log
    return lines[1:start], lines[start + 1 : end]


@pytest.mark.parametrize("prints_at_init", [False, True], ids=["handler-only", "init-and-handler"])
def test_each_line_is_logged_once_in_the_phase_that_printed_it(
    lam: Any, prints_at_init: bool
) -> None:
    source = "def handler(e, c):\n    print('in-handler')\n    return 1\n"
    if prints_at_init:
        source = "print('at-init')\n" + source
    name = create(lam, source)
    for cold in (True, False):
        _, log, _ = invoke(lam, name)
        assert log.count("in-handler") == 1, log
        if cold:
            init_lines, invoke_lines = _phases(log)
            assert init_lines == (["at-init"] if prints_at_init else []), log
            assert invoke_lines == ["in-handler"], log
        else:
            assert "INIT_START" not in log and "at-init" not in log, log


# -- failures ------------------------------------------------------------------------------------
def test_timeout_is_reported_as_lambda_does(lam: Any) -> None:
    source = """
    import time
    def handler(event, context):
        print("sleeping")
        time.sleep(event.get("sleep", 0))
        return "done"
    """
    name = create(lam, source, Timeout=1)
    payload, log, response = invoke(lam, name, {"sleep": 10})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    report = report_of(log)
    assert report.status == "timeout" and 1000 <= report.duration_ms < 5000
    assert re.search(r"\nsleeping\n.*Task timed out after 1\.00 seconds\nEND RequestId", log)
    assert invoke(lam, name)[0] == "done"


def test_init_and_handler_errors_are_reported_as_lambda_does(lam: Any) -> None:
    broken = create(lam, "raise ValueError('bad config at import')\ndef handler(e, c): pass\n")
    payload, log, response = invoke(lam, broken)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "bad config at import"
    assert isinstance(payload["stackTrace"], list) and payload["stackTrace"]
    # Init failed, was retried inside the invoke, and failed again; Lambda files a Python
    # exception's type under Runtime.Unknown.
    first, retried = parse_log(log).init_reports
    assert (first.phase, first.status, first.error_type) == ("init", "error", "Runtime.Unknown")
    assert (retried.phase, retried.status, retried.error_type) == (
        "invoke",
        "error",
        "Runtime.Unknown",
    )
    report = report_of(log)
    assert (report.status, report.error_type, report.init_ms) == ("error", "Runtime.Unknown", None)

    missing = create(lam, PID_HANDLER, Handler="nowhere.handler")
    payload, _, _ = invoke(lam, missing)
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "nowhere" in payload["errorMessage"]

    raising = create(lam, "def handler(e, c):\n    raise KeyError('no such order')\n")
    payload, log, response = invoke(lam, raising)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "KeyError" and payload["stackTrace"]
    assert "[ERROR] KeyError" in log and report_of(log).status is None


def test_init_past_the_limit_fails_and_so_does_its_retry_past_the_timeout() -> None:
    with LocalLambda(update_seconds=0.0, init_limit_s=1.0) as url:
        client = client_for(url)
        name = create(client, "import time\ntime.sleep(30)\ndef handler(e, c): pass\n", Timeout=2)
        started = time.monotonic()
        payload, log, response = invoke(client, name)
        assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 2.00 seconds")
    first, retried = parse_log(log).init_reports
    assert (first.phase, first.status, first.error_type) == ("init", "timeout", None)
    assert first.init_ms == pytest.approx(1000, abs=1)
    assert (retried.phase, retried.status) == ("invoke", "timeout")
    assert retried.init_ms == pytest.approx(2000, abs=1)
    report = report_of(log)
    assert report.status == "timeout" and report.init_ms is None
    assert report.duration_ms == pytest.approx(2000, abs=1)


# -- init retried inside the first invoke --------------------------------------------------------
def test_an_init_past_the_limit_is_retried_inside_the_first_invoke(short_init: Any) -> None:
    name = create(
        short_init, SLOW_INIT, Timeout=10, Environment={"Variables": {"INIT_SLEEP_S": "1.5"}}
    )
    started = time.monotonic()
    payload, log, response = invoke(short_init, name)
    waited = time.monotonic() - started
    assert "FunctionError" not in response, log
    # The caller waits for the failed init (the limit) and for the retried one inside the invoke.
    assert waited >= INIT_LIMIT_S + INIT_SLEEP_S

    (init,) = parse_log(log).init_reports
    assert (init.phase, init.status, init.error_type) == ("init", "timeout", None)
    assert init.init_ms == pytest.approx(INIT_LIMIT_S * 1000, abs=1)
    report = report_of(log)
    assert report.init_ms is None and report.status is None  # no Init Duration: init ran in it
    assert report.duration_ms >= INIT_SLEEP_S * 1000  # its Duration includes the re-run init
    assert report.billed_ms >= report.duration_ms

    # Each attempt's output is logged once, in its place: the retry's before START.
    lines = log.rstrip("\n").split("\n")
    order = [
        line.split("\t")[0].split(" RequestId")[0]
        for line in lines
        if line.startswith(("INIT_START", "INIT_REPORT", "START", "END", "REPORT"))
        or line in ("init ran", "handler ran")
    ]
    assert order == [
        "INIT_START Runtime Version: python:" + order[0].split("python:")[1],
        "init ran",
        "INIT_REPORT Init Duration: 1000.00 ms",
        "init ran",
        "START",
        "handler ran",
        "END",
        "REPORT",
    ], log

    # The environment the retry started stays warm.
    warm, warm_log, _ = invoke(short_init, name)
    assert warm["pid"] == payload["pid"]
    assert "INIT" not in warm_log and report_of(warm_log).duration_ms < 1000


def test_a_retried_init_in_json_log_format(short_init: Any) -> None:
    name = create(
        short_init,
        SLOW_INIT,
        Timeout=10,
        Environment={"Variables": {"INIT_SLEEP_S": "1.5"}},
        LoggingConfig={"LogFormat": "JSON"},
    )
    _, log, response = invoke(short_init, name)
    assert "FunctionError" not in response
    records = _json_records(log)
    types = [r["type"] for r in records]
    assert types == [
        "platform.initStart",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    init_report = records[1]["record"]
    assert (init_report["phase"], init_report["status"]) == ("init", "timeout")
    assert "errorType" not in init_report
    report = records[-1]["record"]
    assert report["status"] == "success" and "initDurationMs" not in report["metrics"]
    assert report["metrics"]["durationMs"] >= INIT_SLEEP_S * 1000
    assert log.count("init ran") == 2 and log.count("handler ran") == 1


def test_an_init_that_raises_fails_again_in_the_invoke_with_the_functions_error(
    short_init: Any,
) -> None:
    source = "print('init ran')\nraise KeyError('no such table')\ndef handler(e, c): pass\n"
    name = create(short_init, source, LoggingConfig={"LogFormat": "JSON"})
    payload, log, response = invoke(short_init, name)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "KeyError" and "no such table" in payload["errorMessage"]
    records = _json_records(log)
    init_reports = [r["record"] for r in records if r.get("type") == "platform.initReport"]
    assert [(r["phase"], r["status"], r["errorType"]) for r in init_reports] == [
        ("init", "error", "Runtime.Unknown"),
        ("invoke", "error", "Runtime.Unknown"),
    ]
    report = records[-1]
    assert report["type"] == "platform.report"
    assert report["record"]["status"] == "error"
    assert report["record"]["errorType"] == "Runtime.Unknown"
    assert "initDurationMs" not in report["record"]["metrics"]


def test_an_init_that_exits_reports_runtime_exit_error(short_init: Any) -> None:
    name = create(short_init, "import os\nos._exit(3)\ndef handler(e, c): pass\n")
    payload, log, response = invoke(short_init, name)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Runtime exited with error: exit status 3")
    summary = parse_log(log)
    assert [(r.phase, r.status, r.error_type) for r in summary.init_reports] == [
        ("init", "error", "Runtime.ExitError"),
        ("invoke", "error", "Runtime.ExitError"),
    ]
    report = report_of(log)
    assert (report.status, report.error_type, report.init_ms) == (
        "error",
        "Runtime.ExitError",
        None,
    )
    assert "Status: error\tError Type: Runtime.ExitError\t" in log


# -- REPORT status fields ------------------------------------------------------------------------
@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_timed_out_and_crashed_invocations_carry_status_fields(
    short_init: Any, log_format: str
) -> None:
    source = """
    import os, time
    def handler(event, context):
        if event.get("exit"):
            os._exit(2)
        time.sleep(event.get("sleep", 0))
        return "ok"
    """
    name = create(short_init, source, Timeout=1, LoggingConfig={"LogFormat": log_format})
    assert invoke(short_init, name)[0] == "ok"

    payload, log, _ = invoke(short_init, name, {"sleep": 5})
    assert payload["errorType"] == "Sandbox.Timedout"
    report = report_of(log)
    assert (report.status, report.error_type) == ("timeout", None)
    assert report.duration_ms == pytest.approx(1000, abs=250)
    if log_format == "Text":
        assert report_line(log).endswith("\tStatus: timeout\t")
    else:
        assert _json_records(log)[-1]["record"]["status"] == "timeout"

    payload, log, _ = invoke(short_init, name, {"exit": True})
    assert payload["errorType"] == "Runtime.ExitError"
    report = report_of(log)
    assert (report.status, report.error_type) == ("error", "Runtime.ExitError")
    if log_format == "Text":
        assert report_line(log).endswith("\tStatus: error\tError Type: Runtime.ExitError\t")
    else:
        record = _json_records(log)[-1]["record"]
        assert (record["status"], record["errorType"]) == ("error", "Runtime.ExitError")


def report_line(log: str) -> str:
    (line,) = [x for x in log.split("\n") if x.startswith("REPORT ")]
    return line
