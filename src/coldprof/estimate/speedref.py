"""The speed reference: a fixed import workload timing this machine against the calibration one."""

from __future__ import annotations

import os
import subprocess
import time

# Standard-library modules present from Python 3.9 to 3.14, imported in a fresh interpreter:
# the same kind of work as an init (unmarshal bytecode, run module bodies, stat files).
REFERENCE_MODULES = (
    "argparse",
    "ast",
    "base64",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "email.parser",
    "hashlib",
    "http.client",
    "inspect",
    "json",
    "logging",
    "pathlib",
    "tarfile",
    "typing",
    "urllib.request",
    "uuid",
    "xml.etree.ElementTree",
    "zipfile",
)
_TIMEOUT_S = 30.0
# Runs after each cold start. The least of them is taken: on a shared machine one run in a few
# is preempted and pays for cold caches (measured here: 58-83 ms for the same workload).
PER_COLD_START = 2


def measure(python: str) -> float | None:
    """CPU ms (user + system) one fresh interpreter spends importing REFERENCE_MODULES; None if
    it could not run."""
    command = [python, "-I", "-S", "-c", "import " + ", ".join(REFERENCE_MODULES)]
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except OSError:
        return None
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return None
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return None
    return round((usage.ru_utime + usage.ru_stime) * 1000, 3)
