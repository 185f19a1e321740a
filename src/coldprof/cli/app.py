"""The coldprof command line: options → request → one core call → render; errors → exit codes."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from coldprof import __version__
from coldprof.errors import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_USAGE,
    ColdprofError,
    FunctionInitError,
    UsageError,
)
from coldprof.render import OutputFormat, format_for_path

if TYPE_CHECKING:
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.project import Project
    from coldprof.results.load import Result


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a pipeline's closed reader


class _ErrorBoundary(TyperGroup):
    """The one error boundary of every command: coldprof's errors become their line and exit
    code; anything unexpected is coldprof's own bug, exit 4, never 1 (findings) nor 3."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        from coldprof.cli.params import conventional

        command = super().get_command(ctx, cmd_name)
        if command is None:
            return None
        return conventional(command, COMMAND_FORMATS.get(cmd_name))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`coldprof ... | head`): not a finding (1), not a crash (4).
            # Quiet the rest of the output, and exit as a shell does on SIGPIPE.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except ColdprofError as e:
            fail(e)
        except Exception as e:
            if hasattr(e, "exit_code") and hasattr(e, "show"):
                raise  # click's usage errors (bad options), which typer reports as exit 2
            from coldprof.cli.crash import internal_error_lines

            debug = bool(ctx.params.get("debug"))
            for line in internal_error_lines(e, sys.argv[1:], debug):
                typer.echo(line, err=True)
            raise typer.Exit(EXIT_INTERNAL) from e


# What each command's --format offers: only what it can write (a test checks each against the
# renderers). A command not listed offers every format.
COMMAND_FORMATS: dict[str, tuple[str, ...]] = {
    "remote": ("table", "json", "markdown", "html"),
    "logs": ("table", "json", "markdown", "html"),
}

app = typer.Typer(
    cls=_ErrorBoundary,
    name="coldprof",
    help="Profile the cold start of Python AWS Lambda functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    # -h as well as --help; help as wide as the terminal (COLUMNS, else 80), not capped at 80.
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 10_000},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coldprof {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="COLDPROF_DEBUG",
            help="On an internal error, print the whole traceback.",
        ),
    ] = False,
) -> None:
    """Profile the cold start of Python AWS Lambda functions."""


# -- shared plumbing -----------------------------------------------------------------------------
def fail(error: ColdprofError) -> NoReturn:
    """The error boundary: one line (and a hint) on stderr, then the error's exit code.

    Another tool's explanation (pip's conflict) comes first, as that tool's."""
    if error.details.strip():
        typer.echo(error.details.rstrip(), err=True)
    typer.echo(f"coldprof: error: {error.message}", err=True)
    if error.hint:
        typer.echo(f"hint: {error.hint}", err=True)
    raise typer.Exit(error.exit_code)


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env {pair.split('=')[0]!r}: expected KEY=VALUE")
        env[key] = value
    return env


def make_progress(fmt: OutputFormat, output: Path | None, quiet: bool = False) -> Any:
    """A progress bar on a terminal; nothing when stderr is not one, JSON goes to stdout, or
    --quiet."""
    from coldprof.progress import NoProgress

    machine = fmt in (OutputFormat.json, OutputFormat.github) and output is None
    if quiet or not sys.stderr.isatty() or machine:
        return NoProgress()
    from coldprof.cli.terminal import TerminalProgress

    return TerminalProgress()


def output_format(fmt: OutputFormat | None, output: Path | None) -> OutputFormat:
    """The format to write: --format, else the --output file's extension, else the table.

    Checked before any cold start runs: an extension coldprof does not know is a usage error,
    not a silent JSON file.
    """
    if fmt is not None:
        return fmt
    if output is None:
        return OutputFormat.table
    chosen = format_for_path(output)
    if chosen is None:
        raise UsageError(
            f"--output {output}: no format for the extension {output.suffix or '(none)'!r}",
            hint="use .json, .md, .html, .txt or .speedscope.json, or pass --format",
        )
    return chosen


def parse_runs(value: str | int) -> tuple[int, bool]:
    """--runs N or --runs auto → (the runs, or the fewest for auto; whether auto)."""
    text = str(value).strip().lower()
    if text == "auto":
        return 6, True
    try:
        runs = int(text)
    except ValueError:
        raise UsageError(f"--runs {value}: expected a number of cold starts or 'auto'") from None
    if runs < 1:
        raise UsageError(f"--runs {value}: at least 1")
    return runs, False


def emit(
    result: Result,
    fmt: OutputFormat | None,
    output: Path | None,
    top: int | None = None,
    quiet: bool = False,
) -> None:
    """Print the result; with --output, write the file only now that the result is ready, and
    print one line that sums it up. --quiet prints nothing (errors go to stderr elsewhere)."""
    from coldprof.render import render, summary

    options: dict[str, Any] = {} if top is None else {"top": top or None}
    chosen = output_format(fmt, output)
    text = render(result, chosen, **options)
    if output is None:
        if not quiet:
            typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    except OSError as e:
        raise UsageError(f"--output {output}: {e.strerror or e}") from e
    if not quiet:
        typer.echo(f"{summary(result)}; wrote {output}")


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format", "-f", help="Output format (default: table; with --output, from its extension)."
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the report to this file once the results are ready; stdout then gets a "
        "one-line summary.",
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but errors (the exit code tells).")
]
RunsOption = Annotated[
    str,
    typer.Option(
        metavar="INTEGER|auto",
        help="Cold starts to measure, or 'auto': until the init median's 95% interval is "
        "within ±5% of it, or --max-runs (one that reads from disk is run again, not counted).",
    ),
]
MaxRunsOption = Annotated[
    int, typer.Option(min=6, help="With --runs auto: the most cold starts to measure.")
]


# Options analyze and audit share: the function, and how its cold starts run.
PathArgument = Annotated[
    Path,
    typer.Argument(
        help="The function directory (or its handler file), or a project: a folder with "
        "template.yaml, serverless.yml or cdk.out, or that file."
    ),
]
HandlerOption = Annotated[
    str | None,
    typer.Option(
        help="module.function in the folder; default: from the project's template, or "
        "convention."
    ),
]
BuildOption = Annotated[
    bool,
    typer.Option(
        "--build/--no-build", help="pip install requirements.txt into a cached package first."
    ),
]
LayerOption = Annotated[
    list[Path] | None,
    typer.Option("--layer", help="A layer directory (like /opt); repeatable."),
]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", help="KEY=VALUE for the function's environment; repeatable."),
]
FollowSymlinksOption = Annotated[
    bool,
    typer.Option(
        "--follow-symlinks",
        help="Package what symlinks that leave the function folder point at (refused otherwise).",
    ),
]
FunctionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--function",
        help="A project's function by logical id (SAM, CloudFormation, cdk.out) or name "
        "(serverless.yml); repeatable. Default: all of them.",
    ),
]
ParameterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--parameter",
        help="KEY=VALUE for a template parameter (as sam deploy --parameter-overrides); "
        "repeatable.",
    ),
]
InitLimitOption = Annotated[
    float, typer.Option(min=0.1, help="Seconds init may take (Lambda's is 10).")
]
PythonOption = Annotated[
    str | None,
    typer.Option(
        "--python",
        help="The interpreter to run the function on: 3.12, python3.12 or a path (default: "
        "the Runtime its template declares, else coldprof's own).",
    ),
]
RuntimeBoto3Option = Annotated[
    str | None,
    typer.Option(
        "--runtime-boto3",
        help="The boto3 version of the runtime directory (default: what the Lambda runtime "
        "ships, where AWS publishes it).",
    ),
]
InstallerOption = Annotated[
    str | None,
    typer.Option(
        "--installer",
        metavar="auto|pip|uv",
        help="What builds the package: pip (as sam build does), uv, or auto: uv where it is "
        "installed and yields the same distributions and versions as pip, else pip "
        "[default: [tool.coldprof] installer, else auto].",
        show_default=False,
    ),
]


def installer_setting(flag: str | None, start: Path) -> str:
    """--installer, else [tool.coldprof] installer, else auto; checked."""
    from coldprof.config import load

    chosen = flag if flag is not None else str(load(start).get("installer", "auto"))
    if chosen not in ("auto", "pip", "uv"):
        raise UsageError(f"--installer {chosen}: expected auto, pip or uv")
    return chosen


PageCacheOption = Annotated[
    str,
    typer.Option(
        "--page-cache",
        help="warm (steadier attribution) or cold: evict the package and layers from the page "
        "cache before each cold start, as a new Lambda environment reads from storage.",
    ),
]


# -- analyze -------------------------------------------------------------------------------------
@app.command()
def analyze(
    path: PathArgument,
    handler: HandlerOption = None,
    function: FunctionOption = None,
    parameter: ParameterOption = None,
    runs: RunsOption = "10",
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
    python: PythonOption = None,
    runtime_boto3: RuntimeBoto3Option = None,
    page_cache: PageCacheOption = "warm",
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
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.measure.analyze import analyze as run_analyze
    from coldprof.project import parse_parameters

    try:
        chosen = output_format(fmt, output)
        count, auto = parse_runs(runs)
        functions = list(dict.fromkeys(function or ()))
        request = AnalyzeRequest(
            path=path,
            handler=handler,
            function=functions[0] if len(functions) == 1 else None,
            parameters=parse_parameters(parameter),
            runs=count,
            auto_runs=auto,
            max_runs=max_runs,
            build=build,
            layers=tuple(layer or ()),
            env=parse_env(env),
            bytecode_runs=bytecode_runs,
            init_limit_s=init_limit,
            events=tuple(event or ()),
            verify=verify,
            follow_symlinks=follow_symlinks,
            lines=not no_lines,
            line_dependencies=tuple(lines or ()),
            python=python,
            runtime_boto3=runtime_boto3,
            page_cache=page_cache,
            architecture=architecture,
            package_type=package_type,
            installer=installer_setting(installer, path),
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
                analyze_all(project, request, functions, fmt, output, top, quiet)
                return
        progress = make_progress(chosen, output, quiet)
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
        emit(result, fmt, output, top, quiet)
        report_event_failures(result)
    except FunctionInitError as e:
        report_init_failure(e, fmt, output, top, quiet)
    except ColdprofError as e:
        fail(e)


def project_to_run(
    path: Path, parameters: Mapping[str, str], functions: list[str]
) -> Project | None:
    """The project at `path` when the run covers more than one of its functions, else None."""
    from coldprof.project import find_project

    project = find_project(path, parameters)
    if project is None:
        if functions:
            raise UsageError(f"--function: {path} holds no template, serverless.yml or cdk.out")
        return None
    return project if len(functions) > 1 or (not functions and len(project.functions) > 1) else None


def analyze_all(
    project: Project,
    request: AnalyzeRequest,
    functions: list[str],
    fmt: OutputFormat | None,
    output: Path | None,
    top: int | None,
    quiet: bool = False,
) -> None:
    """Every chosen function, the summary and each report; exit with the worst exit code."""
    from coldprof.measure.project import analyze_project

    progress = make_progress(output_format(fmt, output), output, quiet)
    try:
        result = analyze_project(project, request, functions, progress)
    finally:
        progress.finish()
    for entry in result.functions:
        if entry.function_output.strip():
            typer.echo(f"---- {entry.logical_id}: the function's output ----", err=True)
            typer.echo(entry.function_output.rstrip(), err=True)
            typer.echo("-------------------------------", err=True)
    emit(result, fmt, output, top, quiet)
    for entry in result.functions:
        if entry.error:
            typer.echo(f"coldprof: error: {entry.logical_id}: {entry.error}", err=True)
            if entry.hint:
                typer.echo(f"hint: {entry.hint}", err=True)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def report_init_failure(
    error: FunctionInitError,
    fmt: OutputFormat | None,
    output: Path | None,
    top: int | None,
    quiet: bool = False,
) -> NoReturn:
    """Show the function's own output as the function's, then what was gathered, then exit 3."""
    if error.function_output.strip():
        typer.echo("---- the function's output ----", err=True)
        typer.echo(error.function_output.rstrip(), err=True)
        typer.echo("-------------------------------", err=True)
    if error.partial is not None:
        try:
            emit(error.partial, fmt, output, top, quiet)
        except ColdprofError as e:
            fail(e)
    typer.echo(f"coldprof: error: {error.message}", err=True)
    if error.hint:
        typer.echo(f"hint: {error.hint}", err=True)
    raise typer.Exit(EXIT_FAILED)


def report_event_failures(result: Any) -> None:
    """A handler that failed on an --event is the function failing: its output, then exit 3.

    The report is already out; the advisor's findings rest on the invocations that worked.
    """
    advice = result.advisor
    failed = advice.failed_events if advice is not None else []
    if not failed:
        return
    from coldprof.runner.function_output import readable

    for run in failed:
        if run.output.strip():
            typer.echo(f"---- the function's output ({run.event}) ----", err=True)
            typer.echo(readable(run.output).rstrip(), err=True)
            typer.echo("-------------------------------", err=True)
    listed = "; ".join(f"{run.event}: {run.describe()}" for run in failed)
    typer.echo(f"coldprof: error: the handler failed on --event {listed}", err=True)
    raise typer.Exit(EXIT_FAILED)


# Registers the other commands on `app`; each keeps its heavy imports inside its body.
from coldprof.cli import audit, calibrate, emulator, logs, remote, report  # noqa: E402, F401, I001


class Stopped(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so that every `finally` runs: environments
    are killed and scratch folders removed before coldprof exits 143 or 129. Not a
    KeyboardInterrupt, which typer turns into exit 130 whatever the signal was."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(signum)
        self.signum = signum
        self.signal_name = signal.Signals(signum).name


def _stop_on_signals() -> None:
    import signal

    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)

    # Windows has no SIGHUP: handle the signals this platform has.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def main() -> None:
    """Console entry point."""
    if sys.argv[1:] == ["--version"]:
        # The answer needs no parser: skip building every command's options (about 30 ms).
        print(f"coldprof {__version__}")
        return
    _stop_on_signals()
    try:
        app()
    except Stopped as e:
        typer.echo(f"coldprof: interrupted ({e.signal_name})", err=True)
        sys.exit(128 + e.signum)
    except KeyboardInterrupt:
        typer.echo("coldprof: interrupted", err=True)
        sys.exit(130)
    except ColdprofError as e:  # a command that forgot its own boundary still exits cleanly
        typer.echo(f"coldprof: error: {e.message}", err=True)
        sys.exit(e.exit_code)
    except BrokenPipeError:
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    # Run as `python -m coldprof.cli.app`, this file is __main__, while the commands registered
    # themselves on the `app` of coldprof.cli.app, another module object: run that one.
    from coldprof.cli.app import main as registered_main

    registered_main()
