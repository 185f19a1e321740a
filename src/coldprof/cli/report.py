"""The `coldprof report` command: re-render a saved analyze, remote or audit JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coldprof.cli.app import (
    FormatOption,
    OutputOption,
    QuietOption,
    app,
    emit,
    fail,
    output_format,
)
from coldprof.errors import ColdprofError
from coldprof.results.load import load_result


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="A result saved with --format json.")],
    fmt: FormatOption = None,
    output: OutputOption = None,
    top: Annotated[int, typer.Option(min=0, help="Dependencies to show in tables (0: all).")] = 15,
    quiet: QuietOption = False,
) -> None:
    """Re-render a saved analyze, remote or audit result (JSON) in another format."""
    try:
        output_format(fmt, output)
        result = load_result(file)
        emit(result, fmt, output, top, quiet)
    except ColdprofError as e:
        fail(e)
