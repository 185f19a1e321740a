"""How a project's analysis reads: a summary table of its functions, then each one's report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from coldprof.figures import ms, size
from coldprof.render import analyze_text as analyze_render
from coldprof.results.dependency_kind import DependencyKind

if TYPE_CHECKING:
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.project import ProjectFunction, ProjectResult

SUMMARY_HEADERS = (
    "function",
    "handler",
    "runtime",
    "memory",
    "init median ms",
    "top dependency",
    "zipped",
)


def top_dependency(result: AnalyzeResult) -> str:
    """The costliest dependency the handler's import pulls in: not its own code, not the
    standard library, not what the runtime client imports for itself."""
    from coldprof.audit.handler import handler_dependencies

    pulled_in = handler_dependencies(result)
    for dep in result.dependencies:  # sorted by inclusive ms
        if dep.kind in (DependencyKind.FUNCTION, DependencyKind.STDLIB):
            continue
        not_the_runtime = pulled_in is None and dep.kind != DependencyKind.RUNTIME
        if not_the_runtime or (pulled_in and dep.name in pulled_in):
            return f"{dep.name} ({ms(dep.inclusive_ms)} ms)"
    return "-"


def summary_rows(project: ProjectResult) -> list[list[str]]:
    rows = []
    for entry in project.functions:
        r = entry.result
        d = r.declared if r is not None else None
        if r is None or r.failure is not None:
            why = (r.failure.message if r and r.failure else entry.error) or "?"
            # The last clause says it best: "...: No module named 'aws_lambda_powertools'".
            why = why.rsplit(": ", 1)[-1]
            init = f"FAILED: {why if len(why) <= 50 else why[:47] + '...'}"
        else:
            init = ms(r.init_ms.median)
        rows.append(
            [
                entry.logical_id,
                r.handler if r is not None else "",
                (d.runtime or "-") if d is not None else "-",
                f"{d.memory_mb} MB" if d is not None and d.memory_mb is not None else "-",
                init,
                top_dependency(r) if r is not None and r.failure is None else "-",
                size(r.package.zipped_bytes) if r is not None else "-",
            ]
        )
    return rows


def _title(project: ProjectResult) -> str:
    failed = sum(1 for f in project.functions if f.exit_code)
    state = f"{failed} failed" if failed else "all analyzed"
    count = len(project.functions)
    return (
        f"project {Path(project.template).name} ({project.source_format}): "
        f"{count} function{'s' if count != 1 else ''}, {state}"
    )


def _failure_lines(entry: ProjectFunction) -> list[str]:
    lines = [f"error: {entry.error}"] if entry.error else []
    if entry.hint:
        lines.append(f"hint: {entry.hint}")
    return lines


def table(project: ProjectResult, top: int | None = 15, **options: Any) -> str:
    from tabulate import tabulate

    out = [
        _title(project),
        "",
        tabulate(
            summary_rows(project),
            headers=SUMMARY_HEADERS,
            tablefmt="simple",
            disable_numparse=True,
            colalign=("left", "left", "left", "right", "right", "left", "right"),
        ),
    ]
    out += [f"not analyzed: {i}: {reason}" for i, reason in project.skipped]
    for entry in project.functions:
        out += ["", f"== {entry.logical_id} " + "=" * max(3, 60 - len(entry.logical_id))]
        if entry.result is not None:
            out.append(analyze_render.table(entry.result, top=top, **options).rstrip("\n"))
        out += _failure_lines(entry)
    return "\n".join(out) + "\n"


def markdown(project: ProjectResult, top: int | None = None, **options: Any) -> str:
    from tabulate import tabulate

    escape = analyze_render.escape_markdown
    rows = [[escape(cell) for cell in row] for row in summary_rows(project)]
    lines = [
        f"# coldprof analyze: {escape(_title(project))}",
        "",
        tabulate(rows, headers=SUMMARY_HEADERS, tablefmt="github", disable_numparse=True),
        "",
    ]
    lines += [f"- not analyzed: {escape(i)}: {escape(reason)}" for i, reason in project.skipped]
    for entry in project.functions:
        if entry.result is not None:
            lines += ["", analyze_render.markdown(entry.result, top=top, **options)]
        else:
            lines += ["", f"## {escape(entry.logical_id)}", ""]
        lines += [f"- {escape(line)}" for line in _failure_lines(entry)]
    return "\n".join(lines) + "\n"
