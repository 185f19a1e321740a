"""`coldprof remote` end to end: real boto3 against the local emulator over HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from coldprof.emulator.server import LocalLambda
from coldprof.remote.configuration import NONCE_VARIABLE
from coldprof.remote.request import RemoteRequest
from coldprof.remote.sweep import sweep
from conftest import coldprof_cmd

ROLE = "arn:aws:iam::123456789012:role/coldprof-test"
SECRET = "s3cr3t-hunter2-value"
# Fields that change with every update; everything else must come back exactly.
VOLATILE = {"LastModified", "RevisionId", "ResponseMetadata", "ConfigSha256"}

# Init fails at the memory size named by FAIL_AT_MEMORY (with the secret in its message, as
# careless code does); init also checks that coldprof merged its nonce into the variables
# rather than replacing them. The handler can leave a marker and sleep, for the signal tests.
HANDLER = """\
import os
import pathlib
import time

if os.environ.get("FAIL_AT_MEMORY") == os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]:
    raise RuntimeError("cannot connect with password " + os.environ.get("DB_PASSWORD", ""))
if os.environ.get("GREETING") != "hello":
    raise RuntimeError("GREETING was dropped from the environment")
print("init sees the password", os.environ.get("DB_PASSWORD"))


def handler(event, context):
    marker = os.environ.get("MARKER")
    if marker:
        pathlib.Path(marker).touch()
    time.sleep(float(os.environ.get("SLEEP_S", "0")))
    print("invoke sees the password", os.environ.get("DB_PASSWORD"))
    return {"ok": True}
"""


def make_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", textwrap.dedent(source))
    return buffer.getvalue()


def client_for(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60, connect_timeout=5),
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with LocalLambda(update_seconds=0.2) as url:
        yield url


@pytest.fixture(scope="module")
def lam(endpoint: str) -> Any:
    return client_for(endpoint)


def create(client: Any, log_format: str = "Text", **variables: str) -> str:
    """A function with the handler above, non-default settings, and these variables; its ARN."""
    name = f"remote-{uuid.uuid4().hex[:8]}"
    response = client.create_function(
        LoggingConfig={"LogFormat": log_format},
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip(HANDLER)},
        MemorySize=256,
        Timeout=17,
        Description="orders API, do not touch",
        Environment={"Variables": {"GREETING": "hello", "DB_PASSWORD": SECRET, **variables}},
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    return str(response["FunctionArn"])


def configuration(client: Any, arn: str) -> dict[str, Any]:
    client.get_waiter("function_updated_v2").wait(
        FunctionName=arn, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    data = client.get_function_configuration(FunctionName=arn)
    return {k: v for k, v in data.items() if k not in VOLATILE}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("remote", *args), capture_output=True, text=True, timeout=timeout
    )


# -- restore ------------------------------------------------------------------------------------
def test_two_tier_sweep_leaves_the_configuration_exactly_as_it_was(endpoint: str, lam: Any) -> None:
    arn = create(lam)
    before = configuration(lam, arn)
    result = sweep(
        RemoteRequest(
            arns=(arn,), memory_tiers=(128, 512), samples=2, warm=1, endpoint_url=endpoint
        )
    )
    after = configuration(lam, arn)
    assert after == before
    assert NONCE_VARIABLE not in after["Environment"]["Variables"]

    (function,) = result.functions
    assert function.restored and function.restore_command is None
    assert function.original_memory_mb == 256
    assert [t.memory_mb for t in function.tiers] == [128, 512]
    for tier in function.tiers:
        # Every cold sample really was cold, at the tier's memory, and init saw GREETING
        # (else it would have failed): the nonce was merged, not swapped in.
        assert len(tier.cold) == 2, tier
        assert all(s.init_ms is not None and s.init_ms > 0 for s in tier.cold)
        assert len(tier.warm) == 2
        assert all(s.init_ms is None for s in tier.warm)
        assert not tier.failures
        assert tier.init_median_ms is not None and tier.cold_penalty_ms is not None
        assert tier.cost_cold_usd_per_million is not None
        assert tier.cost_cold_usd_per_million > tier.cost_warm_usd_per_million  # type: ignore[operator]
    assert len({s.request_id for t in function.tiers for s in t.cold}) == 4
    assert function.environment_names == ("DB_PASSWORD", "GREETING")
    assert function.recommended_memory_mb in (128, 512)


def test_init_failure_is_reported_in_its_tier_and_other_tiers_still_run(
    endpoint: str, lam: Any
) -> None:
    arn = create(lam, FAIL_AT_MEMORY="128")
    before = configuration(lam, arn)
    result = sweep(
        RemoteRequest(
            arns=(arn,), memory_tiers=(128, 256), samples=2, warm=1, endpoint_url=endpoint
        )
    )
    assert configuration(lam, arn) == before
    (function,) = result.functions
    failing, healthy = function.tiers
    assert failing.memory_mb == 128 and not failing.cold
    assert failing.failures and all(f.phase == "init" for f in failing.failures)
    assert failing.failures[0].error_type is not None
    assert "cannot connect" in failing.failures[0].message
    assert SECRET not in failing.failures[0].message  # the error text is redacted
    assert healthy.memory_mb == 256 and len(healthy.cold) == 2 and not healthy.failures
    assert function.restored and function.failed
    assert function.recommended_memory_mb == 256


# -- secrets ------------------------------------------------------------------------------------
def test_environment_values_never_appear_in_any_output(
    endpoint: str, lam: Any, tmp_path: Path
) -> None:
    arn = create(lam, FAIL_AT_MEMORY="128")
    report = tmp_path / "remote.json"
    done = run_cli(
        "--arn", arn, "--endpoint-url", endpoint, "--memory", "128,256", "--samples", "1",
        "--warm", "1", "--format", "json", "--output", str(report),
    )  # fmt: skip
    # The 128 MB tier never started: that is a failed function (exit 3), still reported.
    assert done.returncode == 3, done.stderr
    text = report.read_text()
    data = json.loads(text)
    for output in (done.stdout, done.stderr, text):
        assert SECRET not in output
        assert "hunter2" not in output
    (function,) = data["functions"]
    assert function["restored"] is True
    # Names are reported; values are not.
    assert function["environment_names"] == ["DB_PASSWORD", "FAIL_AT_MEMORY", "GREETING"]
    tiers = {t["memory_mb"]: t for t in function["tiers"]}
    assert tiers[128]["failures"][0]["phase"] == "init"
    assert "***" in tiers[128]["failures"][0]["message"]
    assert len(tiers[256]["cold"]) == 1
    assert "no cold start succeeded" in done.stderr


# -- signals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_sweep_still_restores_the_configuration(
    endpoint: str, lam: Any, tmp_path: Path, signum: int
) -> None:
    marker = tmp_path / "invoked"
    arn = create(lam, MARKER=str(marker), SLEEP_S="5")
    before = configuration(lam, arn)
    process = subprocess.Popen(
        coldprof_cmd(
            "remote", "--arn", arn, "--endpoint-url", endpoint, "--yes",
            "--memory", "128,256", "--samples", "2", "--warm", "1",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no invoke started"
            time.sleep(0.05)
        # A cold invoke is in flight, sleeping, with the nonce and 128 MB applied.
        during = lam.get_function_configuration(FunctionName=arn)
        assert during["MemorySize"] == 128
        assert NONCE_VARIABLE in during["Environment"]["Variables"]
        sent = time.monotonic()
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    # It stopped without waiting for the sleeping invoke, and restored everything first.
    assert time.monotonic() - sent < 4.5
    assert process.returncode == 128 + signum, stderr
    assert "restored to its original configuration" in stderr
    assert configuration(lam, arn) == before
    assert stdout == ""  # no half report
    assert SECRET not in stdout + stderr


def test_a_second_ctrl_c_does_not_abort_the_restore(
    endpoint: str, lam: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "invoked"
    arn = create(lam, MARKER=str(marker), SLEEP_S="5")
    before = configuration(lam, arn)
    process = subprocess.Popen(
        coldprof_cmd(
            "remote", "--arn", arn, "--endpoint-url", endpoint, "--yes", "--memory", "512",
            "--samples", "1", "--warm", "0",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        time.sleep(0.1)  # inside the restore, which waits ~0.2 s for the update to land
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert configuration(lam, arn) == before


# -- restore failure ----------------------------------------------------------------------------
def test_a_failed_restore_prints_the_exact_command_and_exits_3(tmp_path: Path) -> None:
    """A real fault: the emulator is stopped while a cold invoke is in flight."""
    emulator = subprocess.Popen(
        coldprof_cmd("emulator", "--port", "0", "--update-seconds", "0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stderr is not None
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = emulator.stderr.readline()
            match = re.search(r"listening on (http://\S+)", line)
            url = match.group(1) if match else ""
        assert url, "the emulator did not start"
        client = client_for(url)
        marker = tmp_path / "invoked"
        arn = create(client, MARKER=str(marker), SLEEP_S="5")
        original = client.get_function_configuration(FunctionName=arn)
        process = subprocess.Popen(
            coldprof_cmd(
                "remote", "--arn", arn, "--endpoint-url", url, "--yes", "--memory", "1024",
                "--samples", "1", "--warm", "0",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline + 60
            time.sleep(0.05)
        emulator.send_signal(signal.SIGTERM)  # the Lambda API goes away mid-sweep
        emulator.wait(timeout=30)
        stdout, stderr = process.communicate(timeout=90)
    finally:
        for proc in (emulator,):
            if proc.poll() is None:
                proc.kill()
    assert process.returncode == 3, stderr
    assert SECRET not in stdout + stderr
    commands = [line.strip() for line in stderr.splitlines() if line.strip().startswith("aws ")]
    assert len(commands) == 1, stderr
    argv = shlex.split(commands[0])
    assert argv[:3] == ["aws", "lambda", "update-function-configuration"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert options["--function-name"] == arn
    assert options["--memory-size"] == "256"
    assert options["--timeout"] == "17"
    assert options["--description"] == "orders API, do not touch"
    assert options["--endpoint-url"] == url
    assert options["--region"] == "us-east-1"
    environment_file = Path(options["--environment"].removeprefix("file://"))
    assert stat.S_IMODE(environment_file.stat().st_mode) == 0o600
    assert json.loads(environment_file.read_text()) == original["Environment"]
    assert "NOT RESTORED" in stdout and f"could not restore {arn}" in stderr
    environment_file.unlink()


# -- deploys and guard rails --------------------------------------------------------------------
def test_deploy_sweeps_a_function_directory_and_deletes_it(
    endpoint: str, lam: Any, tmp_path: Path
) -> None:
    source = tmp_path / "tiny_fn"
    source.mkdir()
    (source / "lambda_function.py").write_text(
        "import json\n\ndef lambda_handler(event, context):\n    return {'echo': event}\n"
    )
    names_before = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    result = sweep(
        RemoteRequest(
            paths=(source,),
            memory_tiers=(128, 256),
            samples=1,
            warm=1,
            endpoint_url=endpoint,
            payload=b'{"n": 1}',
        )
    )
    (function,) = result.functions
    assert function.name.startswith("coldprof-tiny_fn-")
    assert function.deployed and function.deleted and function.delete_command is None
    assert function.package_unzipped_bytes == (source / "lambda_function.py").stat().st_size
    assert all(len(t.cold) == 1 and len(t.warm) == 1 for t in function.tiers)
    assert result.correlation.package_size_measure == "unzipped"
    assert {f["FunctionName"] for f in lam.list_functions()["Functions"]} == names_before


def test_concurrency_gathers_several_cold_starts_per_update(endpoint: str, lam: Any) -> None:
    arn = create(lam, SLEEP_S="0.3")
    before = configuration(lam, arn)
    result = sweep(
        RemoteRequest(
            arns=(arn,), memory_tiers=(256,), samples=3, warm=0, concurrency=3,
            endpoint_url=endpoint,
        )
    )  # fmt: skip
    (tier,) = result.functions[0].tiers
    # Parallel invokes each landed in a fresh environment: three cold starts, one update.
    assert len(tier.cold) == 3
    assert all(s.init_ms is not None for s in tier.cold)
    assert configuration(lam, arn) == before


def test_json_log_format_reports_are_read_too(endpoint: str, lam: Any, tmp_path: Path) -> None:
    arn = create(lam, log_format="JSON")
    event = tmp_path / "event.json"
    event.write_text('{"order": 7}')
    done = run_cli(
        "--arn", arn, "--endpoint-url", endpoint, "--memory", "256", "--samples", "1",
        "--warm", "1", "--payload", f"@{event}", "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (tier,) = json.loads(done.stdout)["functions"][0]["tiers"]
    assert len(tier["cold"]) == 1 and tier["cold"][0]["init_ms"] > 0
    assert len(tier["warm"]) == 1 and tier["warm"][0]["init_ms"] is None
    assert tier["cold_penalty_ms"] is not None


# -- failures -----------------------------------------------------------------------------------
def create_from(client: Any, source: str, timeout: int = 3) -> str:
    """A function from its own handler module (app.py); its ARN."""
    response = client.create_function(
        FunctionName=f"remote-{uuid.uuid4().hex[:8]}",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip(source)},
        Timeout=timeout,
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName=response["FunctionName"], WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    return str(response["FunctionArn"])


# Raises at 128 MB, runs past its 1 s Timeout at 256 MB: every invoke fails, a different way per
# tier, each after a good init.
FAILS_EVERYWHERE = """\
import os, time

def handler(event, context):
    if os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128":
        raise KeyError("no such order")
    time.sleep(5)
"""


def test_a_function_failing_at_every_tier_exits_3_without_a_recommendation(
    endpoint: str, lam: Any, tmp_path: Path
) -> None:
    arn = create_from(lam, FAILS_EVERYWHERE, timeout=1)
    report = tmp_path / "remote.json"
    done = run_cli(
        "--arn", arn, "--endpoint-url", endpoint, "--memory", "128,256", "--samples", "2",
        "--warm", "1", "--output", str(report), "--format", "json",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    (function,) = json.loads(report.read_text())["functions"]
    assert function["recommended_memory_mb"] is None and function["recommendation"] is None
    tiers = {t["memory_mb"]: t for t in function["tiers"]}
    for tier in tiers.values():
        # Failed runs are no samples: nothing to time a cold start or a penalty by.
        assert tier["cold"] == [] and tier["warm"] == [] and tier["cold_penalty_ms"] is None
    assert {(f["phase"], f["error_type"]) for f in tiers[128]["failures"]} == {
        ("invoke", "KeyError")
    }
    assert {(f["phase"], f["error_type"]) for f in tiers[256]["failures"]} == {
        ("invoke", "Sandbox.Timedout")
    }
    assert "no cold start succeeded" in done.stderr

    table = run_cli(
        "--arn", arn, "--endpoint-url", endpoint, "--memory", "128,256", "--samples", "1",
        "--warm", "0",
    )  # fmt: skip
    assert table.returncode == 3, table.stderr
    assert "recommended" not in table.stdout
    assert "1× invoke KeyError" in table.stdout
    assert "1× invoke Sandbox.Timedout" in table.stdout


SLOW_INIT = """\
import time
time.sleep(1.5)

def handler(event, context):
    return "ok"
"""


def test_an_init_past_the_limit_is_reported_with_its_retried_cold_penalty() -> None:
    from coldprof.render.remote_text import function_footer, tier_rows

    with LocalLambda(update_seconds=0.0, init_limit_s=1.0) as url:
        arn = create_from(client_for(url), SLOW_INIT, timeout=10)
        result = sweep(
            RemoteRequest(arns=(arn,), memory_tiers=(128, 256), samples=1, warm=1, endpoint_url=url)
        )
    (function,) = result.functions
    assert function.restored and function.failed
    assert function.recommended_memory_mb is None
    for tier in function.tiers:
        # Not a normal cold start, and no failure of the invoke: a cold start with a retried init.
        assert tier.cold == () and tier.failures == () and len(tier.warm) == 1
        (retried,) = tier.retried
        assert retried.failed_init_status == "timeout" and retried.init_ms is None
        assert retried.failed_init_ms == pytest.approx(1000, abs=1)
        assert retried.duration_ms >= 1500  # the retried init ran inside the invoke
        # The caller waited for the failed init and the retried one.
        assert tier.retried_penalty_ms is not None and tier.retried_penalty_ms >= 2500 - 100
    rows = tier_rows(function)
    assert all("1× init timeout (retried in the invoke)" in row[-1] for row in rows)
    footer = "\n".join(function_footer(function))
    assert "init timeout (128 MB): 1 cold start(s) retried init inside the invoke" in footer


def test_real_aws_without_a_tty_or_yes_is_refused_before_any_call() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    done = subprocess.run(
        coldprof_cmd("remote", "--arn", "arn:aws:lambda:us-east-1:123456789012:function:f"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert done.returncode == 2
    assert "--yes" in done.stderr


def test_usage_errors_exit_2() -> None:
    done = run_cli("--local", "--memory", "64", "x")
    assert done.returncode == 2 and "128 to 10240" in done.stderr
    done = run_cli(
        str(Path(__file__).parent), "--endpoint-url", "https://lambda.example.com", "--yes"
    )
    assert done.returncode == 2 and "--role" in done.stderr


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("the emulator runs functions on Linux only")
