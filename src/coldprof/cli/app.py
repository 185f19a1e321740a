"""The `coldprof` command line: the app, its root options, each command registered, and main."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from coldprof import __version__
from coldprof.cli.analyze import analyze
from coldprof.cli.audit import audit
from coldprof.cli.boundary import ErrorBoundary, run
from coldprof.cli.calibrate import calibrate
from coldprof.cli.conventions import conventional
from coldprof.cli.emulator import emulator
from coldprof.cli.logs import logs
from coldprof.cli.remote import remote
from coldprof.cli.report import report

if TYPE_CHECKING:
    from typer._click.core import Command, Context

# Each command, in the order help lists them, with the formats its --format offers: only what
# it can write (a test checks each against the renderers); None offers every format.
COMMANDS: dict[str, tuple[Callable[..., None], tuple[str, ...] | None]] = {
    "analyze": (analyze, None),
    "audit": (audit, None),
    "calibrate": (calibrate, None),
    "emulator": (emulator, None),
    "logs": (logs, ("table", "json", "markdown", "html")),
    "remote": (remote, ("table", "json", "markdown", "html")),
    "report": (report, None),
}


class _Group(ErrorBoundary):
    """The root group: every command inside the error boundary, its parameters shown as
    conventions.py has them."""

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            return None
        return conventional(command, COMMANDS[cmd_name][1])


app = typer.Typer(
    cls=_Group,
    name="coldprof",
    help="Profile the cold start of Python AWS Lambda functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    # -h as well as --help; help as wide as the terminal (COLUMNS, else 80), not capped at 80.
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 10_000},
)
for name, (command, _formats) in COMMANDS.items():
    app.command(name)(command)


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


def main() -> None:
    """Console entry point."""
    if sys.argv[1:] == ["--version"]:
        # The answer needs no parser: skip building every command's options (about 30 ms).
        print(f"coldprof {__version__}")
        return
    run(app)
