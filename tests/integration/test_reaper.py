"""Nothing a cold start started outlives it: setsid children, orphans, a coldprof stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldprof.build.archive import remove_tree
from coldprof.runner.reaper import OWNER_FILE, WORKDIR_PREFIX, claim_workdir, sweep_dead_emulators
from conftest import REPO, coldprof_cmd

# A child that leaves the runtime's session and process group, as a daemonizing library would.
SETSID_CHILD = """\
import os, subprocess
child = subprocess.Popen(["sleep", "300"], start_new_session=True)
with open(os.environ["PIDFILE"], "a") as f:
    f.write(f"{child.pid}\\n")
"""
HANDLER = "\ndef lambda_handler(event, context):\n    return 1\n"


@pytest.fixture
def pidfile() -> Iterator[Path]:
    # Not under /tmp: a cold start may get a /tmp of its own.
    folder = REPO / ".cache" / "test-reaper"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.pids"
    yield path
    for pid in _pids(path):  # never leave a sleeper behind, even when a test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            return True
        if state in (b"Z", b"X"):
            return True
        time.sleep(0.05)
    return False


def _function(tmp_path: Path, source: str) -> Path:
    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "app.py").write_text(source + HANDLER)
    return fn


def test_a_setsid_child_is_gone_after_analyze(tmp_path: Path, pidfile: Path) -> None:
    fn = _function(tmp_path, SETSID_CHILD)
    done = subprocess.run(
        coldprof_cmd(
            "analyze", str(fn), "--runs", "2", "--bytecode-runs", "0", "--env", f"PIDFILE={pidfile}"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    children = _pids(pidfile)
    assert len(children) >= 2  # one per cold start, at least
    assert all(_gone(pid) for pid in children)


def test_a_child_of_a_runtime_that_exited_is_gone(tmp_path: Path, pidfile: Path) -> None:
    source = """\
import os, time
pid = os.fork()
if pid == 0:
    time.sleep(300)
    os._exit(0)
with open(os.environ["PIDFILE"], "a") as f:
    f.write(f"{pid}\\n")
os._exit(7)
"""
    fn = _function(tmp_path, source)
    done = subprocess.run(
        coldprof_cmd("analyze", str(fn), "--runs", "1", "--env", f"PIDFILE={pidfile}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert _pids(pidfile) and all(_gone(pid) for pid in _pids(pidfile))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_analyze_stopped_by_a_signal_cleans_up(
    tmp_path: Path, pidfile: Path, signum: int, code: int
) -> None:
    # The runtime writes its own pid and its setsid child's, then sits in init.
    source = SETSID_CHILD + (
        "with open(os.environ['PIDFILE'], 'a') as f:\n    f.write(f'{os.getpid()}\\n')\n"
        "import time\ntime.sleep(60)\n"
    )
    fn = _function(tmp_path, source)
    process = subprocess.Popen(
        coldprof_cmd(
            "analyze", str(fn), "--runs", "1", "--init-limit", "90", "--env", f"PIDFILE={pidfile}"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_pids(pidfile)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_pids(pidfile)) == 2, "the function never started"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert all(_gone(pid) for pid in _pids(pidfile))


def test_a_setsid_child_is_gone_after_the_emulator_stops(tmp_path: Path, pidfile: Path) -> None:
    import boto3
    from botocore.config import Config

    from lambda_client import make_zip as _zip_of

    emulator = subprocess.Popen(
        coldprof_cmd("emulator", "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stderr is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = emulator.stderr.readline()
            if "listening on" in line:
                url = line.split("listening on ", 1)[1].split()[0]
        assert url, "the emulator did not start"
        client = boto3.client(
            "lambda",
            endpoint_url=url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
        )
        client.create_function(
            FunctionName="daemonizer",
            Runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}",
            Role="arn:aws:iam::123456789012:role/test",
            Handler="app.lambda_handler",
            Code={"ZipFile": _zip_of({"app.py": SETSID_CHILD + HANDLER})},
            Environment={"Variables": {"PIDFILE": str(pidfile)}},
        )
        client.get_waiter("function_active_v2").wait(
            FunctionName="daemonizer", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        assert client.invoke(FunctionName="daemonizer")["StatusCode"] == 200
        assert len(_pids(pidfile)) == 1
        emulator.send_signal(signal.SIGINT)
        emulator.communicate(timeout=30)
    finally:
        emulator.kill()
    assert emulator.returncode == 0
    assert all(_gone(pid) for pid in _pids(pidfile))


# -- an emulator killed with SIGKILL ----------------------------------------------------------
@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    yield path
    remove_tree(path)


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def _sleeper(workdir: Path) -> subprocess.Popen[bytes]:
    env = {"LAMBDA_TASK_ROOT": str(workdir / "code-x" / "task"), "PATH": os.environ["PATH"]}
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True
    )


def test_a_dead_emulators_processes_and_files_are_swept(workdir: Path) -> None:
    (workdir / OWNER_FILE).write_text(f"{_dead_pid()} 1\n")
    sleeper = _sleeper(workdir)
    try:
        time.sleep(0.2)  # let it exec, so its environ is the one given
        messages: list[str] = []
        assert sweep_dead_emulators(messages.append) == 1
        assert sleeper.wait(timeout=5) == -9
        assert not workdir.exists()
        assert messages and "killed 1 process" in messages[0]
    finally:
        if sleeper.poll() is None:
            sleeper.kill()


@pytest.mark.parametrize("owner", ["alive", "missing"])
def test_a_live_or_unknown_emulators_workdir_is_left_alone(workdir: Path, owner: str) -> None:
    if owner == "alive":
        claim_workdir(workdir)
    sleeper = _sleeper(workdir)
    try:
        time.sleep(0.2)
        sweep_dead_emulators()
        assert sleeper.poll() is None and workdir.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_spawn_binds_the_child_to_this_process() -> None:
    # A parent that spawns a sleeper through spawn() from a short-lived thread, then is killed:
    # the sleeper must die with the parent, not with the thread.
    script = """
import subprocess, sys, threading, time
from coldprof.runner.reaper import spawn
box = []
thread = threading.Thread(target=lambda: box.append(spawn(
    [sys.executable, "-c", "import time; time.sleep(60)"])))
thread.start(); thread.join()
time.sleep(0.5)  # the thread is gone; the child must still run
print(box[0][0].pid, box[0][0].poll(), flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        assert parent.stdout is not None
        pid_text, polled = parent.stdout.readline().split()
        child = int(pid_text)
        assert polled == "None"  # alive after the spawning thread ended
        parent.kill()
        parent.wait(timeout=5)
        assert _gone(child, 5)
    finally:
        if parent.poll() is None:
            parent.kill()
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
