"""Nothing a cold start started outlives it: every process of an environment, found and killed.

Killing the runtime's process group is not enough. A child that called setsid() has left the
group, and a child whose runtime already exited is no longer anyone's descendant. So:

- coldprof makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): an orphaned descendant is
  re-parented to coldprof rather than to init, and stays where it can be reaped;
- an environment's processes are recognised by the variable every one of them inherits, the
  address of that environment's own Runtime API (``AWS_LAMBDA_RUNTIME_API``), unique among the
  environments alive at once; descendants of the runtime are taken too, whatever their environ.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Iterable

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
    """(pid, ppid) of every process visible in /proc."""
    for name in os.listdir("/proc"):
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
