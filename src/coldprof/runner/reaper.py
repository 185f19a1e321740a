"""Nothing a cold start started outlives it: every process of an environment, found and killed.

Killing the runtime's process group is not enough. A child that called setsid() has left the
group, and a child whose runtime already exited is no longer anyone's descendant. So:

- coldprof makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): an orphaned descendant is
  re-parented to coldprof rather than to init, and stays where it can be reaped;
- an environment's processes are recognised by the variable every one of them inherits, the
  address of that environment's own Runtime API (``AWS_LAMBDA_RUNTIME_API``), unique among the
  environments alive at once; descendants of the runtime are taken too, whatever their environ.

Nor does an emulator killed with SIGKILL leave its environments running:

- every runtime is forked with ``PR_SET_PDEATHSIG``, so the kernel kills it with coldprof;
- an emulator starting up kills what a dead one's functions had started themselves (their
  ``LAMBDA_TASK_ROOT`` lies in its working directory) and removes that directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from coldprof.build.archive import remove_tree

_PR_SET_CHILD_SUBREAPER = 36
_subreaper: bool | None = None


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (once); False where Linux refuses."""
    global _subreaper
    if _subreaper is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False
    return _subreaper


def _processes() -> Iterable[tuple[int, int]]:
    """(pid, ppid) of every process visible in /proc (none where there is no /proc: macOS)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields resume after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        with contextlib.suppress(IndexError, ValueError):
            yield int(name), int(fields[1])


def _has_variable(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return entry in handle.read().split(b"\0")
    except OSError:
        return False


def environment_processes(root_pid: int | None, variable: str) -> set[int]:
    """The processes of one environment: ``root_pid``'s descendants, and every process that
    carries ``variable`` (NAME=value) in its environment."""
    name, _, value = variable.partition("=")
    if not name or not value:  # an empty entry would match every process
        raise ValueError(f"not a NAME=value variable: {variable!r}")
    entry = os.fsencode(variable)
    table = dict(_processes())
    found = {pid for pid in table if pid != os.getpid() and _has_variable(pid, entry)}
    if root_pid is not None:
        found.add(root_pid)
    grew = True
    while grew:  # descendants of anything found
        more = {pid for pid, parent in table.items() if parent in found and pid not in found}
        found |= more
        grew = bool(more)
    found.discard(os.getpid())
    return {pid for pid in found if pid in table or pid == root_pid}


def kill_environment(root_pid: int | None, variable: str, rounds: int = 5) -> list[int]:
    """SIGKILL every process of the environment, again while new ones appear (a fork racing
    the kill); reap those that were re-parented here. Returns the pids killed."""
    killed: list[int] = []
    root = root_pid
    for _ in range(rounds):
        alive = [pid for pid in environment_processes(root_pid, variable) if _alive(pid)]
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        _reap(pid for pid in alive if pid != root)  # the root is its Popen's to wait for
        root_pid = None  # the root is dealt with; its children are found by the variable
    return killed


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")


def _reap(pids: Iterable[int], timeout: float = 2.0) -> None:
    """Collect the zombies of those that are this process's children (the subreaper's)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break  # not ours: its own parent or init reaps it
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.01)


# -- bound to the emulator's life ------------------------------------------------------------
WORKDIR_PREFIX = "coldprof-emulator-"
OWNER_FILE = "emulator.pid"
_PR_SET_PDEATHSIG = 1

# PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process. Every
# runtime is therefore forked from this one long-lived thread: forked from a request thread,
# a runtime would be killed as soon as the invoke that started it returned.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coldprof-spawner")


def _death_signal_setter() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def bind_to_parent() -> None:
        # Runs in the child between fork and exec: keep it to a system call and a check.
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return bind_to_parent


def spawn(cmd: list[str], **options: Any) -> tuple[subprocess.Popen[bytes], float]:
    """Popen, with the child SIGKILLed by the kernel when this process dies, however it dies.

    Returns the process and the perf_counter() time at which it had started (exec succeeded):
    neither the wait for the spawner thread nor the fork counts, since the death signal makes
    Popen fork rather than vfork, which costs a few ms more in a large parent.
    """
    setter = _death_signal_setter()
    if setter is not None:
        options["preexec_fn"] = setter

    def start() -> tuple[subprocess.Popen[bytes], float]:
        process = subprocess.Popen(cmd, **options)
        return process, time.perf_counter()

    return _spawner.submit(start).result()


# -- what a dead emulator left behind --------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: a pid reused later has another."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def claim_workdir(workdir: Path) -> None:
    """Mark an emulator's working directory as this live process's."""
    (workdir / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid()) or ''}\n")


def _owner_alive(workdir: Path) -> bool | None:
    """Whether the emulator that owns `workdir` still runs; None when it cannot be told."""
    try:
        pid_text, _, started = (workdir / OWNER_FILE).read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    current = _start_time(pid)
    return current is not None and (not started or current == started)


def _ours(workdir: Path) -> bool:
    """A real directory of this user's: never follow a link, nor sweep another user's files."""
    try:
        info = workdir.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def _processes_under(workdir: Path) -> Iterator[int]:
    """Processes started for environments whose code lived in `workdir`."""
    marker = f"LAMBDA_TASK_ROOT={workdir}{os.sep}".encode()
    uid = os.getuid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # Only this user's: run as root, the sweep must not touch anyone else's processes.
            if entry.stat().st_uid == uid and marker in (entry / "environ").read_bytes():
                yield int(entry.name)


def sweep_dead_emulators(on_log: Callable[[str], None] | None = None) -> int:
    """Kill what emulators that died without cleaning up left running; remove their files.

    Returns how many processes were killed. Runtimes already die with their emulator
    (PR_SET_PDEATHSIG); this catches what they started, which the death signal does not reach.
    """
    killed = 0
    root = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for workdir in root.glob(WORKDIR_PREFIX + "*"):
            if not _ours(workdir) or _owner_alive(workdir) is not False:
                continue  # alive, or an emulator still starting, or not one of ours
            for pid in _processes_under(workdir):
                with contextlib.suppress(OSError):
                    group = os.getpgid(pid)
                    # Each runtime leads its own process group; what it started stays in it.
                    if group != os.getpgrp():
                        os.killpg(group, signal.SIGKILL)
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
            remove_tree(workdir)
    if killed and on_log is not None:
        on_log(f"killed {killed} process(es) left running by an emulator that was killed")
    return killed
