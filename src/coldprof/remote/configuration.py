"""Forcing a cold start by changing a function's configuration, and putting it back exactly."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import secrets
import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from coldprof.errors import ColdprofError

if TYPE_CHECKING:
    from coldprof.aws.lambda_api import FunctionSnapshot, LambdaApi

# A variable whose new value each round makes Lambda retire every warm environment.
NONCE_VARIABLE = "COLDPROF_NONCE"
SignalHandler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


# -- forcing -------------------------------------------------------------------------------------
def force_cold(api: LambdaApi, snapshot: FunctionSnapshot, memory_mb: int) -> None:
    """Set the memory size and a new nonce: any configuration change retires warm environments."""
    environment = {**(snapshot.environment or {}), NONCE_VARIABLE: secrets.token_hex(8)}
    api.update_configuration(snapshot.arn, memory_mb=memory_mb, environment=environment)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C so that `finally` blocks run."""


# -- signals -------------------------------------------------------------------------------------
class SignalGuard:
    """Turns the first SIGINT or SIGTERM into an exception; holds later ones while restoring.

    A second Ctrl-C must not abort the restore the first one triggered, so inside `holding()`
    signals are only recorded, and the caller asks `take_pending()` once it is safe to stop.
    The third signal held gives up on the restore, which is then reported with the command that
    would finish it.
    """

    ESCAPE_AFTER = 3

    def __init__(self) -> None:
        self._previous: dict[int, SignalHandler] = {}
        self._raised = False
        self._holding = 0
        self._held = 0
        self.received: list[int] = []

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            names = ("SIGINT", "SIGTERM", "SIGHUP")  # Windows has no SIGHUP
            for signum in (getattr(signal, n) for n in names if hasattr(signal, n)):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._holding:
            self._held += 1
            if self._held < self.ESCAPE_AFTER:
                return
        elif self._raised:
            return
        self._raised = True
        raise _exception_for(signum)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Signals arriving inside are recorded, not raised (up to ESCAPE_AFTER of them)."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                self._held = 0

    def take_pending(self) -> bool:
        """True, once, when a signal arrived while held and has not been acted on yet."""
        if self.received and not self._raised:
            self._raised = True
            return True
        return False

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.received[0]).name if self.received else "SIGINT"


def _exception_for(signum: int) -> KeyboardInterrupt:
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    return Terminated(signal.Signals(signum).name)


# -- restoring -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreOutcome:
    """Whether a function was put back; if not, why, and the command that would do it."""

    restored: bool
    command: str | None  # set when not restored: the AWS CLI command that restores it
    reason: str | None = None


def restore(api: LambdaApi, snapshot: FunctionSnapshot) -> RestoreOutcome:
    """Put back memory, environment (dropping the nonce), description and timeout, and verify."""
    try:
        api.update_configuration(
            snapshot.arn,
            memory_mb=snapshot.memory_mb,
            environment=dict(snapshot.environment or {}),
            description=snapshot.description,
            timeout_s=snapshot.timeout_s,
        )
        now = api.snapshot(snapshot.arn)
        differing = snapshot.differing_settings(now)
        if not differing:
            return RestoreOutcome(True, None)
        reason = f"after the restore, {', '.join(differing)} still differ"
    except (ColdprofError, KeyboardInterrupt) as e:
        reason = e.message if isinstance(e, ColdprofError) else "the restore was interrupted"
    return RestoreOutcome(False, restore_command(api, snapshot), reason)


def restore_command(api: LambdaApi, snapshot: FunctionSnapshot) -> str:
    """The `aws lambda update-function-configuration` command that restores `snapshot`.

    Variable values never appear in it: they go to a 0600 file under the cache directory,
    which the command names with `file://`.
    """
    if snapshot.environment:
        try:
            environment = f"file://{_write_environment_file(snapshot)}"
        except OSError as e:
            environment = f"file://UNWRITTEN ({e.strerror or e}: variable names "
            environment += f"{', '.join(snapshot.environment_names)})"
    else:
        environment = '{"Variables":{}}'
    parts = [
        "aws",
        "lambda",
        "update-function-configuration",
        "--function-name",
        snapshot.arn,
        "--memory-size",
        str(snapshot.memory_mb),
        "--timeout",
        str(snapshot.timeout_s),
        "--description",
        snapshot.description,
        "--environment",
        environment,
        "--region",
        snapshot.region,
    ]
    connection = api.connection
    if connection.profile:
        parts += ["--profile", connection.profile]
    if connection.endpoint_url:
        parts += ["--endpoint-url", connection.endpoint_url]
    return shlex.join(parts)


def _write_environment_file(snapshot: FunctionSnapshot) -> Path:
    from coldprof.build.cache import cache_root

    directory = cache_root() / "restore"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = directory / f"{safe_name(snapshot.name)}-{stamp}-{secrets.token_hex(3)}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"Variables": dict(snapshot.environment or {})}, handle)
    return path.resolve()


def safe_name(name: str) -> str:
    """`name` with every run of characters outside [A-Za-z0-9_-] as one "-"."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)
