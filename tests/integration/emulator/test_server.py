"""The HTTP front: LocalLambda and the `coldprof emulator` command, as real processes."""

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

from coldprof.emulator.server import LocalLambda
from coldprof.errors import UsageError
from lambda_client import client_for, create, invoke, processes_with, read_until, unique


def test_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(UsageError, match="listens beyond this machine") as refused:
        LocalLambda(host="0.0.0.0").start()
    assert "--allow-remote" in (refused.value.hint or "")


# -- the command, as a real process --------------------------------------------------------------
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
