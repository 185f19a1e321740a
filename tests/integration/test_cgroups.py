"""CPU quotas and memory ceilings: finding the groups, writing them, what they do to a process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldprof.runner.cgroups import Cgroups, RssWatchdog, cpu_quota_us


def test_quota_is_memory_over_1769_of_a_core() -> None:
    assert cpu_quota_us(1769) == 100_000
    assert cpu_quota_us(256) == 14_471
    assert cpu_quota_us(128) == 7_236
    assert cpu_quota_us(3538) == 200_000  # two cores' worth
    assert cpu_quota_us(1) == 1_000  # the kernel's floor


def _fake_v2(root: Path, name: str) -> Cgroups:
    """A v2 tree made of plain files: the cgroup file protocol, without a kernel."""
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / name).mkdir()
    (root / name / "cgroup.subtree_control").write_text("")
    mountinfo = f"40 30 0:35 / {root} rw - cgroup2 cgroup2 rw\n"
    return Cgroups(name=name, mountinfo=mountinfo, proc_cgroup="0::/\n")


def test_v2_files_are_written_as_the_kernel_expects(tmp_path: Path) -> None:
    cgroups = _fake_v2(tmp_path, "coldprof-test")
    assert cgroups.support.cpu == f"cgroup v2 cpu.max under {tmp_path / 'coldprof-test'}"
    assert cgroups.support.problems == ()
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory"  # the last one written
    limits = cgroups.limits(256)
    limits.attach(4242)
    group = tmp_path / "coldprof-test" / limits.name
    assert (group / "cgroup.procs").read_text() == "4242"
    assert (group / "memory.max").read_text() == str(256 * 1024 * 1024)
    assert (group / "cpu.max").read_text() == "max 100000"  # init runs unthrottled
    limits.on_init_done()
    assert (group / "cpu.max").read_text() == "14471 100000"
    assert not limits.oom_killed()
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert limits.oom_killed()

    proportional = cgroups.limits(512, throttle_init=True)
    proportional.attach(4343)
    assert (tmp_path / "coldprof-test" / proportional.name / "cpu.max").read_text() == (
        "28943 100000"
    )


def test_without_cgroups_the_problem_is_named_and_memory_falls_back(tmp_path: Path) -> None:
    cgroups = Cgroups(name="coldprof-none", mountinfo="", proc_cgroup="")
    assert cgroups.support.cpu is None
    assert "no cpu cgroup controller is mounted for this process" in cgroups.support.problems
    assert "watchdog" in cgroups.support.memory
    read_only = tmp_path / "ro"
    read_only.mkdir()
    (read_only / "cgroup.controllers").write_text("cpu memory\n")
    (read_only / "cgroup.subtree_control").write_text("")
    read_only.chmod(0o555)
    (read_only / "cgroup.subtree_control").chmod(0o444)
    try:
        if os.access(read_only / "cgroup.subtree_control", os.W_OK):
            return  # root writes anyway; the real host test below covers that case
        blocked = Cgroups(
            name="coldprof-ro",
            mountinfo=f"40 30 0:35 / {read_only} rw - cgroup2 cgroup2 rw\n",
            proc_cgroup="0::/\n",
        )
        assert blocked.support.cpu is None
        assert any("cannot set a cpu limit" in p for p in blocked.support.problems)
    finally:
        read_only.chmod(0o755)


# -- on this host's kernel, where it lets us --------------------------------------------------
@pytest.fixture(scope="module")
def host_cgroups() -> Iterator[Cgroups]:
    cgroups = Cgroups()
    yield cgroups
    cgroups.close()


def _spin(seconds: float) -> subprocess.Popen[str]:
    code = (
        "import time, os\n"
        f"end = time.monotonic() + {seconds}\n"
        "while time.monotonic() < end: pass\n"
        "print(os.times().user + os.times().system)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_the_cpu_quota_limits_a_real_process(host_cgroups: Cgroups) -> None:
    if host_cgroups.support.cpu is None:
        pytest.skip("no writable CPU cgroup: " + "; ".join(host_cgroups.support.problems))
    limits = host_cgroups.limits(256)
    process = _spin(1.0)
    limits.attach(process.pid)
    limits.on_init_done()
    out, _ = process.communicate(timeout=30)
    limits.release()
    cpu_seconds = float(out)
    # 14.5% of a core over one second, and a little before the quota was in place
    assert 0.05 < cpu_seconds < 0.3, cpu_seconds


def test_the_memory_limit_kills_a_real_process(host_cgroups: Cgroups) -> None:
    if "cgroup" not in host_cgroups.support.memory:
        pytest.skip("no writable memory cgroup: " + "; ".join(host_cgroups.support.problems))
    limits = host_cgroups.limits(128)
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(0.2); hog = b'x' * (300 << 20)"]
    )
    limits.attach(process.pid)
    assert process.wait(timeout=30) == -9
    assert limits.oom_killed()
    assert limits.peak_mb() >= 100
    limits.release()
    assert limits.oom_killed()  # remembered after the group is gone


def test_the_watchdog_catches_growth_past_the_limit() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nhog = []\nfor _ in range(40):\n"
            "    hog.append(b'x' * (8 << 20)); time.sleep(0.02)\ntime.sleep(30)",
        ]
    )
    tripped = threading.Event()

    def kill() -> None:
        tripped.set()
        process.kill()

    watchdog = RssWatchdog(process.pid, 64, kill)
    watchdog.start()
    started = time.monotonic()
    try:
        assert tripped.wait(20), "the watchdog never fired"
    finally:
        watchdog.stop()
        process.kill()
        process.wait()
    assert watchdog.tripped and time.monotonic() - started < 20
