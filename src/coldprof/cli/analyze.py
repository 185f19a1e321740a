"""The `coldprof analyze` command: what each dependency costs the handler's cold start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coldprof.cli.options import (
    BuildOption,
    EnvOption,
    FollowSymlinksOption,
    FormatOption,
    FunctionOption,
    HandlerOption,
    InitLimitOption,
    InstallerOption,
    LayerOption,
    MaxRunsOption,
    OutputOption,
    ParameterOption,
    PathArgument,
    QuietOption,
    analyze_request,
    parse_runs,
    project_to_run,
)
from coldprof.cli.output import (
    Destination,
    report_event_failures,
    report_init_failure,
    show_project_errors,
    show_project_outputs,
)
from coldprof.errors import FunctionInitError, UsageError

if TYPE_CHECKING:
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.project import Project


def analyze(
    path: PathArgument,
    handler: HandlerOption = None,
    function: FunctionOption = None,
    parameter: ParameterOption = None,
    runs: Annotated[
        str,
        typer.Option(
            metavar="INTEGER|auto",
            help="Cold starts to measure, or 'auto': until the init median's 95% interval is "
            "within ±5% of it, or --max-runs (one that reads from disk is run again, not "
            "counted).",
        ),
    ] = "10",
    max_runs: MaxRunsOption = 30,
    build: BuildOption = True,
    layer: LayerOption = None,
    env: EnvOption = None,
    follow_symlinks: FollowSymlinksOption = False,
    bytecode_runs: Annotated[
        int,
        typer.Option(
            min=0,
            help="Extra cold starts that measure the no-bytecode penalty and its 95% interval "
            "(0 skips it; more runs narrow the interval).",
        ),
    ] = 3,
    init_limit: InitLimitOption = 10.0,
    top: Annotated[
        int, typer.Option(min=0, help="Dependencies to show in the table (0: all).")
    ] = 15,
    event: Annotated[
        list[Path] | None,
        typer.Option(
            "--event",
            help="A JSON event to invoke the handler with after a traced init; repeatable. "
            "Lists the dependencies init loads that no event used (the lazy-import advisor).",
        ),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also measure a temporary copy with those imports deferred (never your files).",
        ),
    ] = False,
    lines: Annotated[
        list[str] | None,
        typer.Option(
            "--lines",
            metavar="NAME",
            help="Also time this dependency's module-level lines, as the function's own are; "
            "repeatable.",
        ),
    ] = None,
    no_lines: Annotated[
        bool,
        typer.Option(
            "--no-lines",
            help="Skip the traced cold start that times the function's module-level lines.",
        ),
    ] = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
    py_spy: Annotated[
        Path | None,
        typer.Option(
            "--py-spy",
            help="Also record one cold start's init with py-spy (native frames where "
            "available) to this speedscope file.",
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="The interpreter to run the function on: 3.12, python3.12 or a path (default: "
            "the Runtime its template declares, else coldprof's own).",
        ),
    ] = None,
    runtime_boto3: Annotated[
        str | None,
        typer.Option(
            "--runtime-boto3",
            help="The boto3 version of the runtime directory (default: what the Lambda runtime "
            "ships, where AWS publishes it).",
        ),
    ] = None,
    page_cache: Annotated[
        str,
        typer.Option(
            "--page-cache",
            help="warm (steadier attribution) or cold: evict the package and layers from the "
            "page cache before each cold start, as a new Lambda environment reads from storage.",
        ),
    ] = "warm",
    installer: InstallerOption = None,
    architecture: Annotated[
        str | None,
        typer.Option(
            "--architecture",
            help="x86_64 or arm64: the platform the package is built for, and Lambda's for the "
            "estimate of its init [default: the template's Architectures, else x86_64]. arm64 "
            "on an x86_64 machine: sizes from the arm64 build, timings from the x86_64 build of "
            "the same versions.",
            show_default=False,
        ),
    ] = None,
    package_type: Annotated[
        str, typer.Option(help="zip or image: how it ships to Lambda, for the estimate.")
    ] = "zip",
) -> None:
    """Measure what each dependency costs the handler's cold start, in fresh interpreters."""
    from dataclasses import replace

    from coldprof.measure.analyze import analyze as run_analyze
    from coldprof.project import parse_parameters

    destination = Destination(fmt, output, top, quiet)
    try:
        destination.format()
        counted = parse_runs(runs)
        functions = list(dict.fromkeys(function or ()))
        request = analyze_request(
            path,
            handler=handler,
            function=functions[0] if len(functions) == 1 else None,
            parameters=parse_parameters(parameter),
            runs=counted,
            max_runs=max_runs,
            build=build,
            layer=layer,
            env=env,
            follow_symlinks=follow_symlinks,
            bytecode_runs=bytecode_runs,
            init_limit=init_limit,
            event=event,
            installer=installer,
        )
        request = replace(
            request,
            verify=verify,
            lines=not no_lines,
            line_dependencies=tuple(lines or ()),
            python=python,
            runtime_boto3=runtime_boto3,
            page_cache=page_cache,
            architecture=architecture,
            package_type=package_type,
        )
        if no_lines and lines:
            raise UsageError("--lines NAME and --no-lines contradict each other")
        if handler is None and request.function is None:
            project = project_to_run(path, request.parameters, functions)
            if project is not None:
                if event or verify or py_spy:
                    raise UsageError(
                        "--event, --verify and --py-spy take one function",
                        hint="pick it with --function ID",
                    )
                analyze_all(project, request, functions, destination)
                return
        progress = destination.progress()
        try:
            result = run_analyze(request, progress)
        finally:
            progress.finish()
        if py_spy is not None:
            from coldprof.measure.pyspy import record_init, spec_for

            recording = record_init(spec_for(request, result), py_spy)
            frames = "with native frames" if recording.native else "Python frames only"
            if not quiet:
                typer.echo(f"wrote {py_spy} (py-spy, init only, {frames})", err=True)
        destination.emit(result)
        report_event_failures(result)
    except FunctionInitError as e:
        report_init_failure(e, destination)


def analyze_all(
    project: Project,
    request: AnalyzeRequest,
    functions: list[str],
    destination: Destination,
) -> None:
    """Every chosen function, the summary and each report; exit with the worst exit code."""
    from coldprof.measure.project import analyze_project

    progress = destination.progress()
    try:
        result = analyze_project(project, request, functions, progress)
    finally:
        progress.finish()
    show_project_outputs(result.functions)
    destination.emit(result)
    show_project_errors(result.functions)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
