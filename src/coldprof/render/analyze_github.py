"""GitHub Actions workflow commands: ::error for findings, ::warning for deferrable imports."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from coldprof.figures import ms, shown_path
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.dependency_kind import DependencyKind


def _data(text: str) -> str:
    # The escapes the runner undoes in a command's message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(
    kind: str, message: str, file: str | None = None, line: int | None = None, title: str = ""
) -> str:
    """One workflow command line: ``::error file=F,line=L,title=T::message``."""
    properties = []
    if file:
        properties.append(f"file={_property(file)}")
        if line:
            properties.append(f"line={line}")
    if title:
        properties.append(f"title={_property(title)}")
    head = f"{kind} {','.join(properties)}" if properties else kind
    return f"::{head}::{_data(message)}"


def repo_path(function_path: str, relative: str) -> str:
    """A file of the function as a path from where coldprof runs (the repository root in CI),
    which is what GitHub matches annotations against."""
    path = Path(function_path.split(" at ", 1)[0])
    if path.suffix == ".py":  # the handler file was given, not its folder
        path = path.parent
    full = path / relative
    if full.is_absolute():
        try:
            full = full.relative_to(Path.cwd())
        except ValueError:
            pass
    return PurePosixPath(os.path.normpath(full).replace(os.sep, "/")).as_posix()


def deferrable_warnings(result: AnalyzeResult) -> list[str]:
    """The lazy-import advisor's deferrable imports, one warning per import statement."""
    report = result.advisor
    if report is None:
        return []
    lines = []
    for item in report.deferrable:
        message = (
            f"{item.name} is imported at init but no --event used it: deferring it would save "
            f"{ms(item.saving_ms)} ms. {item.fix}".strip()
        )
        title = f"coldprof: deferrable import {item.name}"
        if not item.sites:
            lines.append(command("warning", message, title=title))
        lines += [
            command("warning", message, repo_path(result.function_path, s.file), s.line, title)
            for s in item.sites
        ]
    return lines


def init_notice(result: AnalyzeResult) -> str:
    """The init figure with its interval, and the heaviest dependency the function imports."""
    init = result.init_ms
    interval = f" (95% interval {ms(init.ci95[0])} to {ms(init.ci95[1])})" if init.ci95 else ""
    third = [d for d in result.dependencies if d.kind == DependencyKind.THIRD_PARTY]
    heaviest = f"; heaviest: {third[0].name} {ms(third[0].inclusive_ms)} ms" if third else ""
    return command(
        "notice",
        f"init median {ms(init.median)} ms{interval} over {result.runs} cold starts{heaviest}",
        title=f"coldprof: {shown_path(result.function_path)}",
    )


def github(result: AnalyzeResult, **_options: Any) -> str:
    """Workflow commands: a notice with init, a warning per deferrable import."""
    return "\n".join([init_notice(result), *deferrable_warnings(result)]) + "\n"
