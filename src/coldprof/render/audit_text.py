"""An audit result as a terminal table and as a ready PR comment (markdown)."""

from __future__ import annotations

from typing import Any

from coldprof.figures import ms, plural, shown_path, size
from coldprof.render.analyze_text import (
    DEPENDENCY_ALIGN,
    DEPENDENCY_TABLE_HEADERS,
    dependency_rows,
    escape_markdown,
    init_with_interval,
    interval,
    markdown_table,
    runtime_client_note,
)
from coldprof.results.audit import AuditResult, Delta, DependencyChange, Finding

# Marks coldprof's PR comment so a CI job can find and update it instead of adding another.
COMMENT_MARKER = "<!-- coldprof-audit -->"
COMPARISON_HEADERS = (
    "dependency",
    "status",
    "self ms",
    "Δ self",
    "inclusive ms",
    "Δ inclusive",
    "unzipped",
    "Δ unzipped",
)
_STATUS_ORDER = {"new": 0, "grew": 1, "removed": 2, "shrank": 3, "same": 4}


def verdict(result: AuditResult) -> str:
    count = len(result.findings)
    if count == 0:
        return "ok: no findings"
    return f"FAIL: {count} finding{'s' if count != 1 else ''}"


def _signed(value: float) -> str:
    return f"{value:+,.1f}"


def _signed_size(value: int) -> str:
    if value == 0:
        return ""
    return ("+" if value > 0 else "-") + size(abs(value))


def _signed_interval(bounds: tuple[float, float]) -> str:
    return f"{_signed(bounds[0])} to {_signed(bounds[1])}"


def init_line(result: AuditResult) -> str:
    run = result.result
    i = run.init_ms
    line = (
        f"init: median {ms(i.median)} ms (95% interval {interval(i.ci95)}), p90 {ms(i.p90)} ms "
        f"over {plural(run.runs, 'cold start')}"
    )
    if result.init is not None:
        d = result.init
        pct = f", {d.pct:+.0f}%" if d.pct is not None else ""
        if d.paired_ms is not None and d.ci95 is not None:
            line += (
                f"; base {ms(d.before)} ms, run by run {_signed(d.paired_ms)} ms{pct} "
                f"(95% interval {_signed_interval(d.ci95)} ms, {d.verdict})"
            )
        else:
            line += f"; baseline {ms(d.before)} ms ({_signed(d.change)} ms{pct}, {d.verdict})"
    return line


def context_lines(result: AuditResult) -> list[str]:
    run = result.result
    lines = [
        f"handler {run.handler}  ·  Python {run.python}  ·  {run.platform} {run.architecture}",
        init_line(result),
        f"package: {size(run.package.zipped_bytes)} zipped, "
        f"{size(run.package.unzipped_bytes)} unzipped, {plural(run.package.files, 'file')}",
    ]
    if run.runtime_client != "awslambdaric":
        lines.insert(1, f"runtime client: {run.runtime_client} (not awslambdaric, see README)")
    if result.base_ref is not None and result.baseline is not None:
        commit = f" ({result.base_commit[:12]})" if result.base_commit else ""
        lines.append(
            f"base {result.base_ref}{commit}: built beside this run, their cold starts "
            f"interleaved in {result.baseline.runs} pairs and judged pair by pair"
        )
    elif result.base_ref is not None:
        lines.append(f"base {result.base_ref}: the function is new since then (budgets only)")
    elif result.baseline is not None:
        base = result.baseline
        where = f" {result.baseline_path}" if result.baseline_path else ""
        lines.append(f"baseline{where}: Python {base.python}, {plural(base.runs, 'cold start')}")
    if result.result.runs_stopped_by:
        lines.append(f"--runs auto: {result.result.runs_stopped_by}")
    lines.append("budgets: " + budget_text(result))
    if result.config_path:
        lines.append(f"settings from {result.config_path}")
    return lines


def budget_text(result: AuditResult) -> str:
    b = result.budgets

    def value(v: float | None, unit: str) -> str:
        return "-" if v is None else f"{v:g} {unit}"

    parts = [
        f"max-init-ms {value(b.max_init_ms, 'ms')}",
        f"max-dependency-ms {value(b.max_dependency_ms, 'ms')}",
        f"max-package-mb {value(b.max_package_mb, 'MB')}",
    ]
    if result.baseline is not None:
        parts.append(
            f"regressions past {b.max_regression_pct:g}% and the larger of "
            f"{b.min_regression_ms:g} ms and the runs' noise"
        )
    return "  ·  ".join(parts)


def ordered_changes(result: AuditResult, include_same: bool = True) -> list[DependencyChange]:
    changes = [c for c in result.changes if include_same or c.status != "same"]
    return sorted(
        changes,
        key=lambda c: (_STATUS_ORDER.get(c.status, 9), -abs(c.inclusive_ms.change), c.name),
    )


def _ms_change(delta: Delta) -> str:
    return _signed(delta.change) if delta.change else ""


PAIRED_HEADERS = (*COMPARISON_HEADERS[:4], "Δ self 95%", *COMPARISON_HEADERS[4:])
COMPARISON_ALIGN = ("left", "left", "right", "right", "right", "right", "right", "right")
PAIRED_ALIGN = ("left", "left", "right", "right", "right", "right", "right", "right", "right")


def comparison_headers(result: AuditResult) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The comparison's columns; against a --base, with the interval of each Δ self."""
    if result.paired:
        return PAIRED_HEADERS, PAIRED_ALIGN
    return COMPARISON_HEADERS, COMPARISON_ALIGN


def comparison_cells(result: AuditResult, change: DependencyChange) -> list[str]:
    row = comparison_row(change)
    if result.paired:
        bounds = change.self_ms.ci95
        row.insert(4, _signed_interval(bounds) if bounds else "")
    return row


def comparison_row(change: DependencyChange) -> list[str]:
    return [
        change.name,
        change.status + (f" (with {change.pulled_in_by})" if change.pulled_in_by else ""),
        ms(change.self_ms.after) if change.status != "removed" else "-",
        _ms_change(change.self_ms),
        ms(change.inclusive_ms.after) if change.status != "removed" else "-",
        _ms_change(change.inclusive_ms),
        size(change.unzipped_bytes_after) if change.unzipped_bytes_after else "",
        # A dependency new at init may have been in the package all along, imported later.
        _signed_size(change.unzipped_change) if change.status not in ("new", "removed") else "",
    ]


def table(result: AuditResult, top: int | None = 15, **_options: Any) -> str:
    from tabulate import tabulate

    out = [f"coldprof audit: {verdict(result)}", ""]
    out += context_lines(result)
    if result.findings:
        out += ["", "findings:"]
        out += [f"  [{f.rule}] {f.message}" for f in result.findings]
    if result.notes:
        out += ["", "notes:"]
        out += [f"  - {n}" for n in result.notes]
    out.append("")
    if result.changes:
        changes = ordered_changes(result)
        shown = changes[:top] if top else changes
        headers, align = comparison_headers(result)
        out.append(
            tabulate(
                [comparison_cells(result, c) for c in shown],
                headers=headers,
                tablefmt="simple",
                disable_numparse=True,
                colalign=align,
            )
        )
        if len(changes) > len(shown):
            out.append(f"({len(changes) - len(shown)} more; --top 0 shows all)")
        out.append("")
        return "\n".join(out)
    # Without a baseline the run's own dependency table is the useful context.
    rows = dependency_rows(result.result, top)
    out.append(
        tabulate(
            rows,
            headers=DEPENDENCY_TABLE_HEADERS,
            tablefmt="simple",
            disable_numparse=True,
            colalign=DEPENDENCY_ALIGN,
        )
    )
    hidden = len(result.result.dependencies) - len(rows)
    if hidden > 0:
        out.append(f"({hidden} more; --top 0 shows all)")
    out.append("")
    return "\n".join(out)


def _md(text: str) -> str:
    return escape_markdown(text)


def markdown(result: AuditResult, top: int | None = 15, **_options: Any) -> str:
    """A PR comment: the verdict, findings naming their culprits, then the comparison."""
    run = result.result
    mark = "✅" if result.ok else "❌"
    lines = [
        COMMENT_MARKER,
        f"## {mark} coldprof audit `{shown_path(run.function_path)}`: {verdict(result)}",
        "",
    ]
    if result.findings:
        rows = [
            [f"`{f.rule}`", f"**{_md(f.subject)}**", _md(f.message) + _where(f)]
            for f in result.findings
        ]
        lines += [
            markdown_table(rows, ("rule", "culprit", "finding"), ("left", "left", "left")),
            "",
        ]
    lines += [f"- {_md(line)}" for line in context_lines(result)]
    if result.notes:
        lines += ["", "<details><summary>Notes</summary>", ""]
        lines += [f"- {_md(n)}" for n in result.notes]
        lines += ["", "</details>"]
    if result.changes:
        changes = ordered_changes(result, include_same=False)
        same = len(result.changes) - len(changes)
        shown = changes[:top] if top else changes
        if shown:
            what = "the base" if result.paired else "the baseline"
            headers, align = comparison_headers(result)
            rows = [[_md(cell) for cell in comparison_cells(result, c)] for c in shown]
            table_text = markdown_table(rows, headers, align)
            lines += ["", f"### Dependencies against {what}", "", table_text]
        hidden = same + len(changes) - len(shown)
        if hidden:
            lines += ["", f"{hidden} more dependencies within the noise or not shown."]
    else:
        rows = [[_md(str(cell)) for cell in row] for row in dependency_rows(run, top)]
        if rows:
            lines += [
                "",
                "### What each dependency costs at init",
                "",
                markdown_table(rows, DEPENDENCY_TABLE_HEADERS, DEPENDENCY_ALIGN),
            ]
    lines += [
        "",
        "<sub>coldprof: medians over cold starts in fresh interpreters, with their 95% "
        "intervals. Self: a dependency's own import time; inclusive: with what its first "
        "import pulled in.</sub>",
        "",
    ]
    return "\n".join(lines)


def _where(finding: Finding) -> str:
    return f" ({_md(finding.file)}:{finding.line})" if finding.file and finding.line else ""


def summary(result: AuditResult) -> str:
    run = result.result
    line = f"coldprof audit {shown_path(run.function_path)}: {verdict(result)}"
    if run.init_ms.samples:
        line += f"; init median {init_with_interval(run)}"
    line += runtime_client_note(run.runtime_client)
    if result.findings:
        line += "; " + ", ".join(f"{f.subject} ({f.rule})" for f in result.findings[:3])
        if len(result.findings) > 3:
            line += ", ..."
    return line
