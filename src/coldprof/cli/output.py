"""What a command shows: its result (its format; stdout or --output), the function's failures."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol

import typer

from coldprof.cli.boundary import fail
from coldprof.errors import EXIT_FAILED, FunctionInitError, UsageError
from coldprof.render import OutputFormat, format_for_path, render, summary

if TYPE_CHECKING:
    from coldprof.progress import Progress
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.load import Result


class Destination:
    """--format, --output, --top and --quiet: how and where a command writes its result."""

    # A plain class, not a dataclass: every command module imports this one at start-up, and
    # making a dataclass costs more than the rest of the module.
    __slots__ = ("fmt", "output", "quiet", "top")

    def __init__(
        self,
        fmt: OutputFormat | None,
        output: Path | None,
        top: int | None = None,  # None: the command has no --top
        quiet: bool = False,
    ) -> None:
        self.fmt = fmt
        self.output = output
        self.top = top
        self.quiet = quiet

    def format(self) -> OutputFormat:
        """The format to write: --format, else the --output file's extension, else the table.

        Checked before any cold start runs: an extension coldprof does not know is a usage
        error, not a silent JSON file.
        """
        if self.fmt is not None:
            return self.fmt
        if self.output is None:
            return OutputFormat.table
        chosen = format_for_path(self.output)
        if chosen is None:
            raise UsageError(
                f"--output {self.output}: no format for the extension "
                f"{self.output.suffix or '(none)'!r}",
                hint="use .json, .md, .html, .txt or .speedscope.json, or pass --format",
            )
        return chosen

    def progress(self) -> Progress:
        """A progress bar on a terminal; nothing when stderr is not one, JSON goes to stdout,
        or --quiet."""
        machine = self.output is None and self.fmt in (OutputFormat.json, OutputFormat.github)
        if self.quiet or not sys.stderr.isatty() or machine:
            from coldprof.progress import NoProgress

            return NoProgress()
        from coldprof.cli.terminal import TerminalProgress

        return TerminalProgress()

    def emit(self, result: Result) -> None:
        """Print the result; with --output, write the file only now that the result is ready,
        and print one line that sums it up. --quiet prints nothing (errors go to stderr)."""
        options = {} if self.top is None else {"top": self.top or None}
        text = render(result, self.format(), **options)
        if self.output is None:
            if not self.quiet:
                typer.echo(text, nl=False)
            return
        try:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self.output.write_text(text)
        except OSError as e:
            raise UsageError(f"--output {self.output}: {e.strerror or e}") from e
        if not self.quiet:
            typer.echo(f"{summary(result)}; wrote {self.output}")


# -- the function's own failures, shown as the function's --------------------------------------
class ProjectEntry(Protocol):
    """One function of a project's run, as analyze and audit of a project both report it."""

    @property
    def logical_id(self) -> str: ...
    @property
    def function_output(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def hint(self) -> str | None: ...


def show_function_output(output: str, title: str = "the function's output") -> None:
    """What the function printed, fenced off on stderr so that it never reads as coldprof's."""
    if output.strip():
        typer.echo(f"---- {title} ----", err=True)
        typer.echo(output.rstrip(), err=True)
        typer.echo("-------------------------------", err=True)


def report_init_failure(error: FunctionInitError, destination: Destination) -> NoReturn:
    """Show the function's own output as the function's, then what was gathered, then exit 3."""
    show_function_output(error.function_output)
    if error.partial is not None:
        destination.emit(error.partial)
    fail(error)


def report_event_failures(result: AnalyzeResult) -> None:
    """A handler that failed on an --event is the function failing: its output, then exit 3.

    The report is already out; the advisor's findings rest on the invocations that worked.
    """
    advice = result.advisor
    failed = advice.failed_events if advice is not None else []
    if not failed:
        return
    from coldprof.runner.function_output import readable

    for run in failed:
        show_function_output(readable(run.output), f"the function's output ({run.event})")
    listed = "; ".join(f"{run.event}: {run.describe()}" for run in failed)
    typer.echo(f"coldprof: error: the handler failed on --event {listed}", err=True)
    raise typer.Exit(EXIT_FAILED)


def show_project_outputs(entries: Sequence[ProjectEntry]) -> None:
    """Each function's own output, before the report."""
    for entry in entries:
        show_function_output(entry.function_output, f"{entry.logical_id}: the function's output")


def show_project_errors(entries: Sequence[ProjectEntry]) -> None:
    """Each function that failed, after the report."""
    for entry in entries:
        if entry.error:
            typer.echo(f"coldprof: error: {entry.logical_id}: {entry.error}", err=True)
            if entry.hint:
                typer.echo(f"hint: {entry.hint}", err=True)
