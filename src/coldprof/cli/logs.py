"""The `coldprof logs` command: cold starts as production saw them, from CloudWatch Logs."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from coldprof.cli.options import FormatOption, OutputOption
from coldprof.cli.output import Destination
from coldprof.errors import UsageError


class GroupBy(str, Enum):
    version = "version"
    memory = "memory"


def logs(
    function: Annotated[
        list[str] | None,
        typer.Option("--function", help="A function name or ARN whose logs to read; repeatable."),
    ] = None,
    all_functions: Annotated[
        bool, typer.Option("--all", help="Every Python function in the region (ListFunctions).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="How far back to read: 7d, 12h, 30m [default: 7d]; or --start/--end."),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Window start: ISO 8601 (UTC by default) or epoch seconds.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Window end, as --start [default: now].")] = None,
    by: Annotated[
        GroupBy | None, typer.Option(help="Also break each function down by version or memory.")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region.")] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile.")] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="An endpoint serving the Lambda and CloudWatch Logs APIs (an emulator)."),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Read the logs the local emulator kept (of `remote --local` too); no AWS.",
        ),
    ] = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """How often each function starts cold in production, at what init, at what monthly cost.

    Reads REPORT lines (text and JSON log formats) with Logs Insights, or FilterLogEvents where
    Insights is not available. Sorted by what init costs a month, costliest first.
    """
    import time

    from coldprof.logs.read import read_logs
    from coldprof.logs.request import LogsRequest, parse_since, parse_time

    if since is not None and start is not None:
        raise UsageError("pass --since or --start, not both")
    if local and endpoint_url:
        raise UsageError("pass --local or --endpoint-url, not both")
    if local and all_functions:
        raise UsageError("--all lists functions in AWS; with --local every kept log is read")
    end_ms = parse_time(end, "--end") if end is not None else int(time.time() * 1000)
    start_ms = parse_time(start, "--start") if start is not None else None
    if since is not None:
        start_ms = end_ms - parse_since(since)
    request = LogsRequest(
        functions=tuple(function or ()),
        all_functions=all_functions,
        start_ms=start_ms,
        end_ms=end_ms,
        by=by.value if by else None,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        local=local,
    )
    from coldprof.aws.connection import Connection
    from coldprof.aws.lambda_api import LambdaApi

    destination = Destination(fmt, output)
    progress = destination.progress()
    if local:
        from coldprof.emulator.server import LocalLambda

        with LocalLambda() as url:
            api = LambdaApi(Connection.from_options(region, None, url))
            result = read_logs(request, api, progress)
    else:
        connection = Connection.from_options(region, profile, endpoint_url)
        result = read_logs(request, LambdaApi(connection), progress)
    destination.emit(result)
