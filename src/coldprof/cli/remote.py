"""The `coldprof remote` command: cold starts forced on Lambda across memory sizes, restored."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from coldprof.cli.options import (
    EnvOption,
    FollowSymlinksOption,
    FormatOption,
    LayerOption,
    OutputOption,
    ParameterOption,
    parse_env,
)
from coldprof.cli.output import Destination
from coldprof.errors import EXIT_FAILED, UsageError
from coldprof.lambda_facts import DEFAULT_TIERS

if TYPE_CHECKING:
    from coldprof.progress import Progress
    from coldprof.remote.request import RemoteRequest
    from coldprof.results.remote import Estimate, FunctionResult, RemoteResult

DEFAULT_MEMORY = ",".join(map(str, DEFAULT_TIERS))


def remote(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Function directories, or a project (template.yaml, serverless.yml, cdk.out) "
            "with --function, to deploy as temporary functions (needs --role or --local)."
        ),
    ] = None,
    arn: Annotated[
        list[str] | None,
        typer.Option("--arn", help="An existing function's ARN or name; repeatable."),
    ] = None,
    memory: Annotated[
        str, typer.Option(help="Memory sizes to sweep, in MB, comma-separated.")
    ] = DEFAULT_MEMORY,
    samples: Annotated[int, typer.Option(min=1, help="Cold starts per memory size.")] = 5,
    warm: Annotated[int, typer.Option(min=0, help="Warm invokes after each cold one.")] = 2,
    payload: Annotated[
        str, typer.Option(help="The event: JSON, or @file to read it from a file.")
    ] = "{}",
    concurrency: Annotated[
        int,
        typer.Option(min=1, help="Cold starts per configuration update, by parallel invokes (K)."),
    ] = 1,
    region: Annotated[
        str | None, typer.Option(help="AWS region (default: from the ARN or your AWS config).")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS named profile.")] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            help="Lambda endpoint, e.g. a running `coldprof emulator`; AWS_ENDPOINT_URL works too.",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Run against the embedded emulator; no AWS account needed."),
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(help="Execution role ARN for deployed function directories."),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep deployed temporary functions afterwards.")
    ] = False,
    architecture: Annotated[
        str, typer.Option(help="x86_64 or arm64, for deployed function directories.")
    ] = "x86_64",
    runtime: Annotated[
        str | None,
        typer.Option(help="python3.N for deployed functions (default: this Python's version)."),
    ] = None,
    handler: Annotated[
        str | None,
        typer.Option(help="module.function for deployed directories (default: discovered)."),
    ] = None,
    follow_symlinks: FollowSymlinksOption = False,
    function: Annotated[
        str | None,
        typer.Option(
            "--function",
            help="The project's function to deploy, by logical id (or serverless.yml name); "
            "it gets the template's environment and local layers.",
        ),
    ] = None,
    parameter: ParameterOption = None,
    env: EnvOption = None,
    layer: LayerOption = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Do not ask before invoking functions in real AWS."),
    ] = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Force cold starts on a deployed function across memory sizes, then restore it exactly."""
    from coldprof.project import parse_parameters
    from coldprof.remote.request import RemoteRequest
    from coldprof.remote.sweep import SweepInterrupted

    request = RemoteRequest(
        arns=tuple(arn or ()),
        paths=tuple(paths or ()),
        memory_tiers=parse_memory(memory),
        samples=samples,
        warm=warm,
        payload=read_payload(payload),
        concurrency=concurrency,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        local=local,
        role=role,
        keep=keep,
        architecture=architecture,
        runtime=runtime,
        handler=handler,
        follow_symlinks=follow_symlinks,
        env=parse_env(env),
        layers=tuple(layer or ()),
        function=function,
        parameters=parse_parameters(parameter),
    )
    from coldprof.aws.connection import Connection

    real_aws = not local and not Connection.from_options(region, profile, endpoint_url).is_local
    if real_aws and not yes and not sys.stdin.isatty():
        # Refuse before any call: nothing is read, changed or invoked.
        raise UsageError(
            "not invoking functions in AWS without a confirmation",
            hint="pass --yes to confirm in scripts and CI, or --local for the emulator",
        )
    destination = Destination(fmt, output)
    try:
        result = _sweep(request, destination.progress(), yes)
    except SweepInterrupted as e:
        _report_interrupted(e.result.functions, e.signal_name)
    destination.emit(result)
    _report_problems(result.functions)


def _sweep(request: RemoteRequest, progress: Progress, yes: bool) -> RemoteResult:
    """The sweep, and on the embedded emulator what the model estimated for each tier."""
    from coldprof.remote.sweep import sweep

    try:
        result = sweep(request, progress, confirm=lambda e: _confirm(e, yes))
        if request.local:
            from coldprof.remote.estimate import with_estimates

            result = with_estimates(result, request, progress)
    finally:
        progress.finish()
    return result


def parse_memory(text: str) -> tuple[int, ...]:
    """--memory 128,512,1769 → the tiers."""
    try:
        tiers = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError as e:
        raise UsageError(f"--memory {text!r}: expected sizes in MB like 128,512,1769") from e
    return tiers


def read_payload(text: str) -> bytes:
    """--payload: the JSON itself, or @file."""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_bytes()
        except OSError as e:
            raise UsageError(f"--payload {text}: {e.strerror or e}") from e
    return text.encode("utf-8")


def _confirm(estimate: Estimate, yes: bool) -> bool:
    typer.echo(estimate.describe(), err=True)
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            "not invoking functions in AWS without a confirmation",
            hint="pass --yes to confirm in scripts and CI",
        )
    return typer.confirm("Proceed?", default=False, err=True)


def _report_problems(functions: tuple[FunctionResult, ...]) -> None:
    """After the report: what must be put right by hand, and exit 3 if anything failed."""
    failed = False
    for function in functions:
        if not function.restored:
            failed = True
            typer.echo(f"coldprof: error: could not restore {function.arn}; run:", err=True)
            typer.echo(f"  {function.restore_command}", err=True)
        if function.delete_command:
            failed = True
            typer.echo(f"coldprof: error: could not delete {function.name}; run:", err=True)
            typer.echo(f"  {function.delete_command}", err=True)
        if function.error:
            failed = True
            typer.echo(f"coldprof: error: {function.name}: {function.error}", err=True)
        for tier in function.tiers:
            if not tier.cold:
                failed = True
                why = tier.error or "no cold start succeeded"
                if not tier.error and tier.retried:
                    why += " without its init failing first (retried inside the invoke)"
                typer.echo(f"coldprof: {function.name} @ {tier.memory_mb} MB: {why}", err=True)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _report_interrupted(functions: tuple[FunctionResult, ...], signal_name: str) -> NoReturn:
    typer.echo(f"coldprof: interrupted ({signal_name})", err=True)
    unrestored = False
    for function in functions:
        if function.restored:
            typer.echo(f"  {function.arn}: restored to its original configuration", err=True)
        else:
            unrestored = True
            typer.echo(f"coldprof: error: could not restore {function.arn}; run:", err=True)
            typer.echo(f"  {function.restore_command}", err=True)
        if function.delete_command:
            unrestored = True
            typer.echo(f"coldprof: error: could not delete {function.name}; run:", err=True)
            typer.echo(f"  {function.delete_command}", err=True)
    if unrestored:
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(128 + int(signal.Signals[signal_name]))
