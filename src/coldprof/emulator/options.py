"""How an emulator serves and runs functions: its options, their defaults, and where it listens."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from coldprof.errors import UsageError
from coldprof.lambda_facts import INIT_LIMIT_S

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001
DEFAULT_IDLE_SECONDS = 300.0
# How long a new function stays Pending, and an update InProgress: long enough for a second
# update to meet a real ResourceConflictException and for the waiters to wait, short enough
# for tests.
DEFAULT_UPDATE_SECONDS = 0.05

LOG_DIR_ENV = "COLDPROF_EMULATOR_LOGS"


class InitCpu(str, Enum):
    """How much CPU init gets."""

    unthrottled = "unthrottled"  # as Lambda is observed to do
    proportional = "proportional"  # memory/1769 of a core, as during invokes


@dataclass(frozen=True)
class EmulatorOptions:
    """Everything that decides how the emulator serves and runs functions."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    init_cpu: InitCpu = InitCpu.unthrottled
    allow_remote: bool = False
    update_seconds: float = DEFAULT_UPDATE_SECONDS
    init_limit_s: float = INIT_LIMIT_S
    cgroups: bool = True  # False: never touch cgroups (CPU unlimited, memory by watchdog)
    python: str = sys.executable
    require_auth: bool = True  # refuse requests without a SigV4 signature (emulator.guard)
    log_dir: Path | None = None  # where log groups are kept across runs; None: in memory only


def default_log_dir(cache: Path) -> Path:
    """Where emulators keep the log groups of their functions, for `coldprof logs --local`:
    $COLDPROF_EMULATOR_LOGS (a demo or a CI job keeping its own apart), else the cache."""
    explicit = os.environ.get(LOG_DIR_ENV)
    return Path(explicit).absolute() if explicit else cache / "emulator" / "logs"


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond this machine unless asked to: the API runs arbitrary code."""
    if allow_remote:
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError) as e:
        raise UsageError(f"--host {host}: cannot resolve it ({e})") from e
    remote = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if remote:
        raise UsageError(
            f"--host {host} listens beyond this machine ({', '.join(remote)}), and the emulator "
            "runs any code it is sent",
            hint="pass --allow-remote to accept that, or keep the default 127.0.0.1",
        )
