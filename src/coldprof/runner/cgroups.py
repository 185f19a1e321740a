"""CPU in proportion to memory and a memory ceiling per environment: cgroups, else a watchdog."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coldprof.lambda_facts import MB_PER_VCPU
from coldprof.runner.cgroup_tree import Hierarchy, find_hierarchies

PERIOD_US = 100_000
_MIN_QUOTA_US = 1000  # the kernel refuses less
_RMDIR_WAIT_S = 2.0
_instances = itertools.count(1)


def cpu_quota_us(memory_mb: int, period_us: int = PERIOD_US) -> int:
    """The CFS quota that gives memory/1769 of one core per period."""
    return max(_MIN_QUOTA_US, round(period_us * memory_mb / MB_PER_VCPU))


# -- the emulator's groups ---------------------------------------------------------------------
def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _read(path: Path) -> str:
    with open(path) as handle:
        return handle.read()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_group(directory: Path, wait_s: float = _RMDIR_WAIT_S) -> bool:
    """rmdir a group, children first; a group whose processes are still exiting is retried."""
    if not directory.is_dir():
        return True
    for child in [p for p in directory.iterdir() if p.is_dir()]:
        _remove_group(child, wait_s)
    deadline = time.monotonic() + wait_s
    while True:
        busy = _rmdir(directory)
        if not busy:
            return not directory.exists()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _rmdir(directory: Path) -> bool:
    """True when the group still has processes (EBUSY); other errors leave it in place."""
    try:
        directory.rmdir()
    except FileNotFoundError:
        return False
    except OSError as e:
        return e.errno == errno.EBUSY
    return False


class _Group:
    """One controller's parent group for this emulator, with a child group per environment."""

    def __init__(self, controller: str, hierarchy: Hierarchy, name: str) -> None:
        self.controller = controller
        self.version = hierarchy.version
        self.own_dir = hierarchy.own_dir
        self.dir = hierarchy.own_dir / name

    def create(self) -> None:
        """Make the parent group and prove a child can be limited; OSError when it cannot."""
        _sweep_stale(self.own_dir)
        if self.version == 2:
            _enable_v2(self.own_dir, self.controller)
        self.dir.mkdir(exist_ok=True)
        if self.version == 2:
            _enable_v2(self.dir, self.controller)
        if self.controller == "cpu":
            # Lambda guarantees an environment its share of a core; on a busy machine a
            # raised weight keeps other work from eating into it. The quota still caps it.
            weight = ("cpu.weight", "1000") if self.version == 2 else ("cpu.shares", "10240")
            with contextlib.suppress(OSError):
                _write(self.dir / weight[0], weight[1])
        probe = self.child("probe")
        try:
            if self.controller == "cpu":
                self.set_cpu(probe, cpu_quota_us(128))
            else:
                self.set_memory(probe, 128 * 1024 * 1024)
        finally:
            _remove_group(probe, 0.0)

    def child(self, name: str) -> Path:
        directory = self.dir / name
        directory.mkdir(exist_ok=True)
        return directory

    def add_pid(self, child: Path, pid: int) -> None:
        _write(child / "cgroup.procs", str(pid))

    def set_cpu(self, child: Path, quota_us: int | None) -> None:
        if self.version == 2:
            _write(child / "cpu.max", f"{quota_us if quota_us else 'max'} {PERIOD_US}")
            return
        _write(child / "cpu.cfs_period_us", str(PERIOD_US))
        _write(child / "cpu.cfs_quota_us", str(quota_us if quota_us else -1))

    def set_memory(self, child: Path, limit_bytes: int) -> None:
        if self.version == 2:
            _write(child / "memory.max", str(limit_bytes))
            with contextlib.suppress(OSError):  # no swap accounting: nothing to limit
                _write(child / "memory.swap.max", "0")
            return
        _write(child / "memory.limit_in_bytes", str(limit_bytes))
        # Where swap is accounted, swapping out would dodge the limit Lambda enforces.
        with contextlib.suppress(OSError):
            _write(child / "memory.memsw.limit_in_bytes", str(limit_bytes))
        with contextlib.suppress(OSError):
            _write(child / "memory.swappiness", "0")

    def oom_kills(self, child: Path) -> int:
        """How many processes the kernel's OOM killer took in this group."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            text = _read(child / name)
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def peak_bytes(self, child: Path) -> int:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(child / name).strip() or 0)
        except (OSError, ValueError):
            return 0

    @property
    def describe(self) -> str:
        if self.controller == "cpu":
            knob = "cpu.max" if self.version == 2 else "cpu.cfs_quota_us"
        else:
            knob = "memory.max" if self.version == 2 else "memory.limit_in_bytes"
        return f"cgroup v{self.version} {knob} under {self.dir}"


def _enable_v2(directory: Path, controller: str) -> None:
    control = directory / "cgroup.subtree_control"
    if controller in _read(control).split():
        return
    _write(control, f"+{controller}")


def _sweep_stale(own_dir: Path) -> None:
    """Remove the groups of emulators that died without cleaning up (SIGKILL, a crash)."""
    try:
        entries = list(own_dir.glob("coldprof-*"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            _kill_members(entry)
            _remove_group(entry, 0.5)


def _kill_members(directory: Path) -> None:
    """SIGKILL every process left in a group and its children (a group with any cannot go)."""
    for procs in directory.rglob("cgroup.procs"):
        try:
            pids = [int(line) for line in _read(procs).split()]
        except (OSError, ValueError):
            continue
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class LimitSupport:
    """What the host lets the emulator enforce, and why not where it cannot."""

    cpu: str | None  # how CPU is limited, or None
    memory: str  # how memory is limited (a cgroup, or the RSS watchdog)
    problems: tuple[str, ...]


class Cgroups:
    """The emulator's cgroups: found and probed once, one child group per environment."""

    def __init__(
        self,
        name: str | None = None,
        mountinfo: str | None = None,
        proc_cgroup: str | None = None,
        enabled: bool = True,
    ) -> None:
        # Several emulators may share a process (tests, LocalLambda): one group each.
        self.name = name or f"coldprof-{os.getpid()}-{next(_instances)}"
        self.cpu: _Group | None = None
        self.memory: _Group | None = None
        problems: list[str] = []
        if not enabled:
            problems.append("cgroups disabled by the caller")
        else:
            self._setup(mountinfo, proc_cgroup, problems)
        memory = (
            self.memory.describe
            if self.memory is not None
            else "a watchdog polling VmRSS in /proc/PID/status"
        )
        self.support = LimitSupport(
            self.cpu.describe if self.cpu is not None else None, memory, tuple(problems)
        )
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _setup(self, mountinfo: str | None, proc_cgroup: str | None, problems: list[str]) -> None:
        try:
            mountinfo = mountinfo if mountinfo is not None else _read(Path("/proc/self/mountinfo"))
            proc_cgroup = (
                proc_cgroup if proc_cgroup is not None else _read(Path("/proc/self/cgroup"))
            )
        except OSError as e:
            problems.append(f"cannot read this process's cgroups: {e.strerror or e}")
            return
        hierarchies = find_hierarchies(mountinfo, proc_cgroup)
        for controller in ("cpu", "memory"):
            hierarchy = hierarchies.get(controller)
            if hierarchy is None:
                problems.append(f"no {controller} cgroup controller is mounted for this process")
                continue
            group = _Group(controller, hierarchy, self.name)
            try:
                group.create()
            except OSError as e:
                _remove_group(group.dir, 0.0)
                problems.append(
                    f"cannot set a {controller} limit under {hierarchy.own_dir}: {e.strerror or e}"
                )
                continue
            setattr(self, controller, group)

    def limits(
        self,
        memory_mb: int,
        throttle_init: bool = False,
        on_memory_exceeded: Callable[[], None] | None = None,
    ) -> EnvironmentLimits:
        """Limits for one new environment."""
        with self._lock:
            name = f"env-{next(self._counter)}"
        return EnvironmentLimits(self, name, memory_mb, throttle_init, on_memory_exceeded)

    def close(self) -> None:
        """Remove the emulator's groups; environments must have been killed first."""
        for group in (self.cpu, self.memory):
            if group is not None:
                _remove_group(group.dir)


class EnvironmentLimits:
    """One environment's CPU quota and memory ceiling (runner.environment.ResourceLimits).

    CPU: memory/1769 of a core. By default init runs unthrottled, as Lambda is observed to
    do, and the quota applies from the end of init. Memory: a cgroup limit the kernel
    enforces, else a watchdog that calls ``on_memory_exceeded``.
    """

    def __init__(
        self,
        cgroups: Cgroups,
        name: str,
        memory_mb: int,
        throttle_init: bool,
        on_memory_exceeded: Callable[[], None] | None,
    ) -> None:
        self.cgroups = cgroups
        self.name = name
        self.memory_mb = memory_mb
        self.throttle_init = throttle_init
        self.on_memory_exceeded = on_memory_exceeded
        self.problems: list[str] = []
        self._cpu_dir: Path | None = None
        self._memory_dir: Path | None = None
        self._watchdog: RssWatchdog | None = None
        self._released_oom: bool | None = None
        self._released_peak: int | None = None

    @property
    def quota_us(self) -> int:
        return cpu_quota_us(self.memory_mb)

    def attach(self, pid: int) -> None:
        memory = self.cgroups.memory
        if memory is not None:
            try:
                self._memory_dir = memory.child(self.name)
                memory.set_memory(self._memory_dir, self.memory_mb * 1024 * 1024)
                memory.add_pid(self._memory_dir, pid)
            except OSError as e:
                self.problems.append(f"memory cgroup: {e.strerror or e}; using the watchdog")
                self._memory_dir = None
        if self._memory_dir is None:
            self._watchdog = RssWatchdog(pid, self.memory_mb, self._exceeded)
            self._watchdog.start()
        cpu = self.cgroups.cpu
        if cpu is not None:
            try:
                self._cpu_dir = cpu.child(self.name)
                cpu.set_cpu(self._cpu_dir, self.quota_us if self.throttle_init else None)
                cpu.add_pid(self._cpu_dir, pid)
            except OSError as e:
                self.problems.append(f"cpu cgroup: {e.strerror or e}; CPU is not limited")
                self._cpu_dir = None

    def on_init_done(self) -> None:
        cpu = self.cgroups.cpu
        if cpu is not None and self._cpu_dir is not None and not self.throttle_init:
            try:
                cpu.set_cpu(self._cpu_dir, self.quota_us)
            except OSError as e:
                self.problems.append(f"cpu cgroup: {e.strerror or e}; CPU is not limited")

    def _exceeded(self) -> None:
        if self.on_memory_exceeded is not None:
            self.on_memory_exceeded()

    def oom_killed(self) -> bool:
        """True when the environment was killed for exceeding its memory (also after release)."""
        if self._watchdog is not None and self._watchdog.tripped:
            return True
        if self._released_oom is not None:
            return self._released_oom
        memory = self.cgroups.memory
        return (
            memory is not None
            and self._memory_dir is not None
            and memory.oom_kills(self._memory_dir) > 0
        )

    def peak_mb(self) -> int:
        """The memory cgroup's high-water mark (page cache included); 0 where unknown."""
        if self._released_peak is not None:
            return self._released_peak
        memory = self.cgroups.memory
        if memory is None or self._memory_dir is None:
            return 0
        return memory.peak_bytes(self._memory_dir) // (1024 * 1024)

    def release(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._released_oom is None:
            # The group goes away now, and with it the kernel's record of what happened.
            self._released_oom = self.oom_killed()
            self._released_peak = self.peak_mb()
        for directory in (self._cpu_dir, self._memory_dir):
            if directory is not None:
                _remove_group(directory)


class RssWatchdog:
    """Polls a process's resident memory; past the limit, calls ``on_exceeded`` once."""

    def __init__(
        self,
        pid: int,
        limit_mb: int,
        on_exceeded: Callable[[], None],
        interval_s: float = 0.01,
    ) -> None:
        self.pid = pid
        self.limit_kb = limit_mb * 1024
        self.on_exceeded = on_exceeded
        self.interval_s = interval_s
        self.tripped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"rss-{pid}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.wait(self.interval_s):
            rss = _vm_rss_kb(status)
            if rss is None:
                return  # the process is gone
            if rss > self.limit_kb:
                self.tripped = True
                self.on_exceeded()
                return


def _vm_rss_kb(status: Path) -> int | None:
    try:
        text = _read(status)
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None  # a zombie has no VmRSS
