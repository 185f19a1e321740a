"""audit's --baseline file: the saved run a function (or a project) is compared with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from coldprof.errors import UsageError
from coldprof.results.load import load_result

if TYPE_CHECKING:
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.load import Result


def load_baseline(path: Path, function: str | None = None) -> AnalyzeResult:
    """A saved analyze result, the analyzed run inside a saved audit, or one function's run
    in a saved project result."""
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.audit import AuditResult

    if not path.exists():
        raise UsageError(
            f"--baseline {path}: no such file",
            hint="write one with `coldprof audit PATH --baseline FILE --update-baseline` "
            "or `coldprof analyze PATH --format json --output FILE`",
        )
    saved = load_result(path)
    if isinstance(saved, AuditResult):
        return saved.result
    if saved.kind in ("project", "project_audit") and function is not None:
        runs = load_project_baseline(path)
        if function not in runs:
            raise UsageError(f"--baseline {path}: holds no run of {function}")
        return runs[function]
    if not isinstance(saved, AnalyzeResult):
        raise UsageError(f"--baseline {path}: a {saved.kind} result, not an analyze result")
    return saved


def load_project_baseline(path: Path) -> dict[str, AnalyzeResult]:
    """A saved project result (analyze or audit of a project) → each function's run."""
    from coldprof.results.project import ProjectAuditResult, ProjectResult

    if not path.exists():
        raise UsageError(
            f"--baseline {path}: no such file",
            hint="write one with `coldprof audit PROJECT --baseline FILE --update-baseline`",
        )
    saved = load_result(path)
    if isinstance(saved, ProjectAuditResult):
        return saved.analyzed()
    if isinstance(saved, ProjectResult):
        return {f.logical_id: f.result for f in saved.functions if f.result is not None}
    raise UsageError(
        f"--baseline {path}: a {saved.kind} result; a project is compared with a project's",
        hint="pick one function with --function, or write a project baseline with "
        "--update-baseline",
    )


def write_baseline(path: Path, result: Result) -> None:
    """Replace the baseline in one step, so a failed write never leaves half a file."""
    import tempfile

    from coldprof.render.result_json import render as render_json

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w") as stream:
            stream.write(render_json(result))
        os.replace(temp, path)
    except OSError as e:
        raise UsageError(f"--baseline {path}: cannot be written ({e.strerror or e})") from e
