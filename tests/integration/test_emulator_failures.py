"""The emulator fails as Lambda fails: retried inits, REPORT status fields, and hard kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coldprof.aws.report import parse_log
from coldprof.emulator.server import LocalLambda
from lambda_client import (
    client_for,
    create,
    invoke,
    processes_with,
    read_until,
    report_of,
    unique,
)

# Init prints, then sleeps; past the init limit the emulator is started with, it times out.
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


# -- a hard kill orphans nothing -----------------------------------------------------------------
def _start_emulator() -> tuple[subprocess.Popen[str], Any]:
    process = subprocess.Popen(
        [sys.executable, "-m", "coldprof", "emulator", "--port", "0", "--update-seconds", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = read_until(process.stderr, r"listening on (http://\S+)", time.monotonic() + 30)[1]
    return process, client_for(url)


def _wait_until_gone(pids: set[int], marker: bytes, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = sorted(set(processes_with(marker)) | {p for p in pids if _running(p)})
        if not left:
            return []
        time.sleep(0.05)
    return left


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def test_a_kill_9_of_the_emulator_leaves_no_runtime_running(tmp_path: Path) -> None:
    name = unique("hardkill")
    marker = f"AWS_LAMBDA_FUNCTION_NAME={name}\0".encode()
    source = """
    import os, subprocess, sys, time
    def handler(event, context):
        # Something the function started: a death signal on the runtime does not reach it.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(event["pids"] + ".tmp", "w") as handle:
            handle.write(f"{os.getpid()} {child.pid}")
        os.replace(event["pids"] + ".tmp", event["pids"])  # never seen half-written
        time.sleep(120)
    """
    pids_file = tmp_path / "pids"
    process, client = _start_emulator()
    second = None
    try:
        create(client, source, FunctionName=name, Timeout=300)
        client.invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps({"pids": str(pids_file)}).encode(),
        )
        deadline = time.monotonic() + 20
        while not pids_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        runtime_pid, child_pid = map(int, pids_file.read_text().split())
        assert _running(runtime_pid) and _running(child_pid)

        os.kill(process.pid, signal.SIGKILL)  # mid-invoke: no chance to clean up
        process.wait(timeout=10)
        # The kernel kills the runtime with its parent (PR_SET_PDEATHSIG)...
        assert _wait_until_gone({runtime_pid}, b"\0never\0", 5) == []
        # ...and the next emulator to start kills what the function had started.
        second, _ = _start_emulator()
        assert _wait_until_gone({runtime_pid, child_pid}, marker, 5) == []
    finally:
        for proc in (process, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for pid in processes_with(marker):  # never leave a sleeper behind, even on failure
            os.kill(pid, signal.SIGKILL)
