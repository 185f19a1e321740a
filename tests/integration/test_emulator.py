"""The local Lambda endpoint, driven only through boto3 over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coldprof.aws.report import parse_log
from coldprof.emulator.server import LocalLambda
from coldprof.errors import UsageError
from coldprof.runner.cgroups import Cgroups
from lambda_client import (
    FAST_WAIT,
    ROLE,
    client_for,
    create,
    invoke,
    make_zip,
    processes_with,
    read_until,
    report_of,
    unique,
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with LocalLambda(update_seconds=0.2) as url:
        yield url


@pytest.fixture(scope="module")
def lam(endpoint: str) -> Any:
    return client_for(endpoint)



PID_HANDLER = """
import os
def handler(event, context):
    return {"pid": os.getpid(), "env": os.environ.get("XX"), "memory": context.memory_limit_in_mb}
"""


# -- the life of a function -----------------------------------------------------------------------
def test_create_active_cold_warm_update_cold(lam: Any) -> None:
    source = PID_HANDLER + "\nprint('module loaded')\n"
    code = make_zip({"app.py": source})
    name = unique("life")
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
        MemorySize=256,
        Timeout=5,
    )
    assert created["State"] == "Pending"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert created["CodeSize"] == len(code)
    assert created["FunctionArn"] == f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.invoke(FunctionName=name)

    lam.get_waiter("function_active_v2").wait(FunctionName=name)  # the real waiter, as shipped
    config = lam.get_function(FunctionName=name)["Configuration"]
    assert config["State"] == "Active"
    assert config["LastUpdateStatus"] == "Successful"
    assert (config["Runtime"], config["MemorySize"], config["Timeout"]) == ("python3.12", 256, 5)
    assert config["PackageType"] == "Zip" and config["Architectures"] == ["x86_64"]

    cold, cold_log, response = invoke(lam, name)
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert cold["memory"] == "256"
    cold_report = report_of(cold_log)
    assert cold_report.init_ms is not None and cold_report.init_ms > 0
    assert cold_report.memory_mb == 256 and cold_report.max_memory_mb > 0
    # Lambda's order: INIT_START, what init printed, START, END, REPORT
    assert re.search(
        r"INIT_START .*\nmodule loaded\nSTART RequestId: (\S+) Version: \$LATEST\n"
        r"END RequestId: \1\nREPORT RequestId: \1\t",
        cold_log,
    ), cold_log

    warm, warm_log, _ = invoke(lam, name)
    assert warm["pid"] == cold["pid"]
    assert report_of(warm_log).init_ms is None
    assert "INIT_START" not in warm_log and "module loaded" not in warm_log

    before = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    updated = lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"XX": "1"}}
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.update_function_configuration(FunctionName=name, Description="too soon")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    after = lam.get_function_configuration(FunctionName=name)
    assert after["RevisionId"] != before
    assert after["Environment"] == {"Variables": {"XX": "1"}}

    again, again_log, _ = invoke(lam, name)
    assert again["env"] == "1"
    assert again["pid"] != cold["pid"]
    assert report_of(again_log).init_ms is not None


def test_code_update_retires_and_publish_pins_a_version(lam: Any) -> None:
    name = create(lam, "def handler(e, c):\n    return 'one'\n")
    assert invoke(lam, name)[0] == "one"
    published = lam.publish_version(FunctionName=name)
    assert published["Version"] == "1"
    lam.update_function_code(
        FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'two'\n"})
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    latest, log, _ = invoke(lam, name)
    assert latest == "two" and report_of(log).init_ms is not None
    pinned, _, response = invoke(lam, name, Qualifier="1")
    assert pinned == "one" and response["ExecutedVersion"] == "1"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1"]
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as download:
        files = zipfile.ZipFile(io.BytesIO(download.read())).namelist()
    assert files == ["app.py"]


def test_api_errors_are_lambdas(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=unique("missing"))
    name = create(lam, PID_HANDLER)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="10240"):
        lam.update_function_configuration(FunctionName=name, MemorySize=20000)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="AWS_REGION"):
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"AWS_REGION": "x"}}
        )
    with pytest.raises(lam.exceptions.ResourceConflictException):
        create(lam, PID_HANDLER, FunctionName=name)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Python"):
        lam.create_function(
            FunctionName=unique("node"),
            Runtime="nodejs20.x",
            Role=ROLE,
            Handler="index.handler",
            Code={"ZipFile": make_zip({"index.js": "exports.handler = 1"})},
        )
    assert name in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    # any account and region in an ARN are accepted
    arn = f"arn:aws:lambda:ap-south-1:999999999999:function:{name}"
    assert lam.get_function_configuration(FunctionName=arn)["FunctionName"] == name
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert lam.invoke(FunctionName=name, InvocationType="Event")["StatusCode"] == 202
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name)


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


# -- limits ----------------------------------------------------------------------------------------
def _cpu_support() -> str | None:
    """Why CPU cannot be limited on this host (the emulator finds the same), or None."""
    probe = Cgroups(name=f"coldprof-probe-{os.getpid()}")
    probe.close()
    if probe.support.cpu is None:
        return "no writable cgroup CPU quota here: " + "; ".join(probe.support.problems)
    return None


CPU_HANDLER = """
def handler(event, context):
    total = 0
    for i in range(event["n"]):
        total += i
    return total
"""


def test_cpu_is_proportional_to_memory(lam: Any) -> None:
    if _cpu_support() is not None:
        pytest.skip(_cpu_support())
    full_name = create(lam, CPU_HANDLER, wait=False, MemorySize=1769, Timeout=30)
    tier_name = create(lam, CPU_HANDLER, wait=False, MemorySize=256, Timeout=30)
    waiter = lam.get_waiter("function_active_v2")
    for name in (full_name, tier_name):
        waiter.wait(FunctionName=name, WaiterConfig=FAST_WAIT)
        invoke(lam, name, {"n": 1000})  # the cold start out of the way; init is unthrottled
    work = {"n": 2_000_000}
    # Other work on this machine (2 cores, shared) slows runs down, the full-speed one most: the
    # least disturbed run of each counts, and a disturbed round is measured again. A quota that
    # is not applied gives a ratio near 1 in every round.
    rounds = []
    for _ in range(3):
        full = min(report_of(invoke(lam, full_name, work)[1]).duration_ms for _ in range(5))
        throttled = min(report_of(invoke(lam, tier_name, work)[1]).duration_ms for _ in range(2))
        rounds.append((full, throttled))
        print(
            f"CPU-bound invoke: {full:.0f} ms at 1769 MB, {throttled:.0f} ms at 256 MB: "
            f"{throttled / full:.1f}x"
        )
        if throttled / full >= 4:
            break
    assert max(t / f for f, t in rounds) >= 4, rounds


BUSY_IMPORT = """
total = 0
for i in range(1_000_000):
    total += i
def handler(event, context):
    return total
"""


def test_init_is_unthrottled_unless_asked(lam: Any) -> None:
    if _cpu_support() is not None:
        pytest.skip(_cpu_support())
    # Other work on this machine can only slow the unthrottled inits; the least disturbed counts.
    names = [create(lam, BUSY_IMPORT, wait=False, MemorySize=256) for _ in range(3)]
    waiter = lam.get_waiter("function_active_v2")
    inits = []
    for name in names:
        waiter.wait(FunctionName=name, WaiterConfig=FAST_WAIT)
        inits.append(report_of(invoke(lam, name)[1]).init_ms)
    with LocalLambda(update_seconds=0.0, init_cpu="proportional") as url:
        client = client_for(url)
        name = create(client, BUSY_IMPORT, MemorySize=256)
        proportional = report_of(invoke(client, name)[1]).init_ms
    assert None not in inits and proportional is not None
    unthrottled = min(inits)  # type: ignore[type-var]
    print(f"Init at 256 MB: {unthrottled:.0f} ms unthrottled, {proportional:.0f} ms throttled")
    assert proportional > 3 * unthrottled


OOM_HANDLER = """
import os
def handler(event, context):
    if event.get("grow"):
        hog = b"x" * (400 * 1024 * 1024)
        return len(hog)
    return os.getpid()
"""


def _check_out_of_memory(client: Any) -> None:
    # At 128 MB the function gets 7% of a core: filling 128 MB alone takes a second.
    name = create(client, OOM_HANDLER, MemorySize=128, Timeout=20)
    pid, _, _ = invoke(client, name)
    payload, log, response = invoke(client, name, {"grow": True})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    report = report_of(log)
    assert report.status == "error" and report.max_memory_mb == 128
    assert "Runtime exited with error: signal: killed\nRuntime.OutOfMemory" in log
    again, again_log, _ = invoke(client, name)
    assert again != pid and report_of(again_log).init_ms is not None  # a fresh environment


def test_out_of_memory_is_reported_as_lambda_does(lam: Any) -> None:
    _check_out_of_memory(lam)


def test_without_cgroups_memory_is_watched_and_cpu_is_never_silently_unlimited() -> None:
    lines: list[str] = []
    with LocalLambda(update_seconds=0.0, cgroups=False, on_log=lines.append) as url:
        assert any("warning: CPU is NOT limited" in line for line in lines)
        _check_out_of_memory(client_for(url))
    assert any("watchdog" in line for line in lines)
    assert any(re.search(r"warning: cold start at 128 MB: CPU is NOT limited", x) for x in lines)


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


# -- archives ---------------------------------------------------------------------------------
def test_unsafe_archives_are_refused(lam: Any, tmp_path: Path) -> None:
    def refused(code: bytes, match: str) -> None:
        name = unique("unsafe")
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=match):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": code},
            )
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName=name)

    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("app.py", PID_HANDLER)
        archive.writestr("../../escaped.py", "print('outside')")
    refused(slip.getvalue(), "escapes")

    link = io.BytesIO()
    with zipfile.ZipFile(link, "w") as archive:
        archive.writestr("app.py", PID_HANDLER)
        info = zipfile.ZipInfo("passwd")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    refused(link.getvalue(), "symbolic link")

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("app.py", PID_HANDLER)
        with archive.open("padding.bin", "w") as padding:
            chunk = bytes(8 * 1024 * 1024)
            for _ in range(32):  # 256 MiB, past Lambda's 262,144,000 bytes
                padding.write(chunk)
    assert len(bomb.getvalue()) < 2 * 1024 * 1024
    refused(bomb.getvalue(), "smaller than 262144000 bytes")


# -- environments ----------------------------------------------------------------------------------
def test_concurrent_invokes_get_their_own_environments(lam: Any) -> None:
    source = """
    import os, time
    def handler(event, context):
        started = time.time()
        time.sleep(1)
        return {"pid": os.getpid(), "started": started, "ended": time.time()}
    """
    name = create(lam, source, Timeout=10)
    results: list[tuple[Any, str]] = []

    def call() -> None:
        payload, log, _ = invoke(lam, name)
        results.append((payload, log))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    (first, first_log), (second, second_log) = results
    assert first["pid"] != second["pid"]
    assert report_of(first_log).init_ms is not None and report_of(second_log).init_ms is not None
    # they ran at the same time, not one after the other
    assert max(first["started"], second["started"]) < min(first["ended"], second["ended"])


def test_idle_environments_are_retired() -> None:
    with LocalLambda(update_seconds=0.0, idle_seconds=0.5) as url:
        client = client_for(url)
        name = create(client, PID_HANDLER)
        first = invoke(client, name)[0]["pid"]
        assert invoke(client, name)[0]["pid"] == first
        time.sleep(1.5)
        assert not Path(f"/proc/{first}").exists()
        payload, log, _ = invoke(client, name)
        assert payload["pid"] != first and report_of(log).init_ms is not None


def test_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(UsageError, match="listens beyond this machine") as refused:
        LocalLambda(host="0.0.0.0").start()
    assert "--allow-remote" in (refused.value.hint or "")


# -- the command, as a real process ------------------------------------------------------------

def test_no_process_outlives_the_emulator(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "coldprof", "emulator", "--port", "0", "--update-seconds", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    name = unique("orphan")
    marker = f"AWS_LAMBDA_FUNCTION_NAME={name}\0".encode()
    try:
        url = read_until(process.stderr, r"listening on (http://\S+)", time.monotonic() + 30)[1]
        client = client_for(url)
        source = """
        import os, time
        def handler(event, context):
            if event.get("hang"):
                open(event["hang"], "w").write(str(os.getpid()))
                time.sleep(60)
            return os.getpid()
        """
        create(client, source, FunctionName=name, Timeout=120)
        started = tmp_path / "busy.pid"
        client.invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps({"hang": str(started)}).encode(),
        )
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        busy_pid = int(started.read_text())
        idle_pid = invoke(client, name)[0]  # the busy one is not shared: a second environment
        assert busy_pid != idle_pid
        assert set(processes_with(marker)) >= {idle_pid, busy_pid}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
    assert returncode == 0, process.stderr.read() if process.stderr else ""
    assert processes_with(marker) == []
    assert not Path(f"/proc/{idle_pid}").exists() and not Path(f"/proc/{busy_pid}").exists()
    assert not list(Path("/sys/fs/cgroup/cpu").glob(f"coldprof-{process.pid}-*"))


def test_the_command_refuses_a_remote_host() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "coldprof", "emulator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--allow-remote" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2
