"""The `coldprof report` command: re-render a saved analyze, remote or audit JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coldprof.cli.options import FormatOption, OutputOption, QuietOption, TopOption
from coldprof.cli.output import Destination
from coldprof.results.load import load_result


def report(
    file: Annotated[Path, typer.Argument(help="A result saved with --format json.")],
    fmt: FormatOption = None,
    output: OutputOption = None,
    top: TopOption = 15,
    quiet: QuietOption = False,
) -> None:
    """Re-render a saved analyze, remote or audit result (JSON) in another format."""
    destination = Destination(fmt, output, top, quiet)
    destination.format()
    destination.emit(load_result(file))
