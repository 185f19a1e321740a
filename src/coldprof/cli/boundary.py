"""The one error boundary: coldprof's errors, a closed reader, signals and bugs → exit codes."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

from coldprof.errors import EXIT_INTERNAL, ColdprofError

if TYPE_CHECKING:
    # typer bundles click and exports its Context subclass, not the class commands receive.
    from typer._click.core import Context

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a pipeline's closed reader


def fail(error: ColdprofError) -> NoReturn:
    """One line (and a hint) on stderr, then the error's exit code.

    Another tool's explanation (pip's conflict) comes first, as that tool's."""
    if error.details.strip():
        typer.echo(error.details.rstrip(), err=True)
    typer.echo(f"coldprof: error: {error.message}", err=True)
    if error.hint:
        typer.echo(f"hint: {error.hint}", err=True)
    raise typer.Exit(error.exit_code)


class ErrorBoundary(TyperGroup):
    """The root group, around every command from the parsing of its options to its last line:
    coldprof's errors become their line and exit code; anything unexpected is coldprof's own
    bug, exit 4, never 1 (findings) nor 3."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`coldprof ... | head`): not a finding (1), not a crash (4).
            # Quiet the rest of the output, and exit as a shell does on SIGPIPE.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except ColdprofError as e:
            fail(e)
        except Exception as e:
            if hasattr(e, "exit_code") and hasattr(e, "show"):
                raise  # click's usage errors (bad options), which typer reports as exit 2
            from coldprof.cli.crash import internal_error_lines  # off the start-up path

            debug = bool(ctx.params.get("debug"))
            for line in internal_error_lines(e, sys.argv[1:], debug):
                typer.echo(line, err=True)
            raise typer.Exit(EXIT_INTERNAL) from e


class Stopped(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so that every `finally` runs: environments
    are killed and scratch folders removed before coldprof exits 143 or 129. Not a
    KeyboardInterrupt, which typer turns into exit 130 whatever the signal was."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.signal_name = signal.Signals(signum).name


def stop_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into Stopped."""

    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)

    # Windows has no SIGHUP: handle the signals this platform has.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def run(app: Callable[[], object]) -> None:
    """Run the command line; a signal ends it with the code a shell gives that signal."""
    stop_on_signals()
    try:
        app()
    except Stopped as e:
        typer.echo(f"coldprof: interrupted ({e.signal_name})", err=True)
        sys.exit(128 + e.signum)
    except KeyboardInterrupt:
        typer.echo("coldprof: interrupted", err=True)
        sys.exit(130)
