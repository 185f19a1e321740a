"""How a project's audit reads: one line per function, then each function's audit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from coldprof.figures import ms
from coldprof.render import audit_text as audit_render

if TYPE_CHECKING:
    from coldprof.results.project import FunctionAudit, ProjectAuditResult

SUMMARY_HEADERS = ("function", "verdict", "init median ms", "findings")


def _verdict(entry: FunctionAudit) -> str:
    if entry.result is None:
        return f"FAILED: {entry.error or '?'}"
    return audit_render.verdict(entry.result)


def summary_rows(result: ProjectAuditResult) -> list[list[str]]:
    rows = []
    for entry in result.functions:
        a = entry.result
        rows.append(
            [
                entry.logical_id,
                _verdict(entry),
                ms(a.result.init_ms.median) if a is not None else "-",
                "; ".join(f.message for f in a.findings)[:80] if a is not None else "",
            ]
        )
    return rows


def title(result: ProjectAuditResult) -> str:
    failing = sum(1 for f in result.functions if f.exit_code)
    count = len(result.functions)
    state = "ok: no findings" if not failing else f"FAIL: {failing} of {count} functions"
    return f"coldprof audit: {state}  ·  {Path(result.template).name} ({result.source_format})"


def table(result: ProjectAuditResult, top: int | None = 15, **options: Any) -> str:
    from tabulate import tabulate

    out = [
        title(result),
        "",
        tabulate(
            summary_rows(result), headers=SUMMARY_HEADERS, tablefmt="simple", disable_numparse=True
        ),
    ]
    out += [f"not audited: {i}: {reason}" for i, reason in result.skipped]
    out += [f"note: {note}" for note in result.notes]
    for entry in result.functions:
        out += ["", f"== {entry.logical_id} " + "=" * max(3, 60 - len(entry.logical_id))]
        if entry.result is not None:
            out.append(audit_render.table(entry.result, top=top, **options).rstrip("\n"))
        else:
            out.append(f"error: {entry.error}")
            if entry.hint:
                out.append(f"hint: {entry.hint}")
    return "\n".join(out) + "\n"


def markdown(result: ProjectAuditResult, top: int | None = 15, **options: Any) -> str:
    from tabulate import tabulate

    rows = [[cell.replace("|", "\\|") for cell in row] for row in summary_rows(result)]
    lines = [
        f"## {title(result)}",
        "",
        tabulate(rows, headers=SUMMARY_HEADERS, tablefmt="github", disable_numparse=True),
        "",
    ]
    lines += [f"- not audited: {i}: {reason}" for i, reason in result.skipped]
    lines += [f"- note: {note}" for note in result.notes]
    for entry in result.functions:
        lines += ["", f"### {entry.logical_id}", ""]
        if entry.result is not None:
            lines.append(audit_render.markdown(entry.result, top=top, **options))
        else:
            lines.append(f"- error: {entry.error}")
    return "\n".join(lines) + "\n"
