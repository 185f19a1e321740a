"""The `coldprof emulator` command: a local, boto3-compatible Lambda endpoint."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class InitCpuChoice(str, Enum):
    unthrottled = "unthrottled"
    proportional = "proportional"


def emulator(
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; a non-loopback one needs --allow-remote."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 9001,
    idle_seconds: Annotated[
        float,
        typer.Option(min=0.1, help="Retire an execution environment idle this long."),
    ] = 300.0,
    init_cpu: Annotated[
        InitCpuChoice,
        typer.Option(
            help="CPU during init: unthrottled (as Lambda is observed to do) or proportional "
            "to memory, like invokes."
        ),
    ] = InitCpuChoice.unthrottled,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host. Anyone who can reach it can run code here.",
        ),
    ] = False,
    update_seconds: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="How long a new function stays Pending and an update InProgress.",
        ),
    ] = 0.05,  # emulator.DEFAULT_UPDATE_SECONDS, not imported here to keep --help fast
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve requests that carry no SigV4 signature (curl). AWS SDKs always sign, "
            "even with dummy keys.",
        ),
    ] = False,
) -> None:
    """Serve the Lambda API (2015-03-31) locally: real cold starts, CPU per memory size.

    Point boto3 at it with boto3.client("lambda", endpoint_url="http://127.0.0.1:9001").
    Stop it with Ctrl-C or SIGTERM: every execution environment is killed.
    """
    import signal
    import threading

    from coldprof.emulator.server import LocalLambda

    def log(line: str) -> None:
        typer.echo(line, err=True)

    stop = threading.Event()
    local = LocalLambda(
        host=host,
        port=port,
        idle_seconds=idle_seconds,
        init_cpu=init_cpu.value,
        allow_remote=allow_remote,
        update_seconds=update_seconds,
        on_log=log,
        require_auth=not no_auth,
    )
    url = local.start()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        log(f'  use: boto3.client("lambda", endpoint_url="{url}")')
        while not stop.wait(0.5):
            pass
        log("coldprof emulator: shutting down; killing every environment")
    finally:
        local.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
