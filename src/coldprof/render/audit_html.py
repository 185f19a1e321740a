"""An audit result as one self-contained HTML page: findings, before/after, the audited run."""

from __future__ import annotations

from typing import Any

from coldprof.render import page_html
from coldprof.render.analyze_html import analyze_sections
from coldprof.render.audit_text import (
    COMPARISON_HEADERS,
    comparison_row,
    context_lines,
    ordered_changes,
    verdict,
)
from coldprof.render.interactive_html import before_after
from coldprof.results.audit import AuditResult


def html(result: AuditResult, top: int | None = None, **_options: Any) -> str:
    run = result.result
    badge_class = "pass" if result.ok else "fail"
    body = [
        f'<p><span class="verdict {badge_class}">{page_html.escape(verdict(result))}</span></p>',
        page_html.facts(context_lines(result)),
    ]
    if result.findings:
        items = "".join(
            f'<li><span class="rule">{page_html.escape(f.rule)}</span>'
            f"<strong>{page_html.escape(f.subject)}</strong>: {page_html.escape(f.message)}</li>"
            for f in result.findings
        )
        body.append(page_html.section("Findings", f'<ul class="findings">{items}</ul>'))
    if result.notes:
        body.append(page_html.section("Notes", page_html.facts(result.notes)))
    if result.changes:
        changes = ordered_changes(result)
        body.append(
            page_html.section(
                "Dependencies against the baseline",
                page_html.table(
                    COMPARISON_HEADERS,
                    [comparison_row(c) for c in changes],
                    numeric=(False, False, True, True, True, True, True, True),
                    row_classes=[c.status for c in changes],
                ),
                anchor="comparison",
            )
        )
    if result.changes:
        label = f"baseline ({result.baseline_path})" if result.baseline_path else "baseline"
        pairs = [
            (c.name, c.inclusive_ms.before, c.inclusive_ms.after) for c in ordered_changes(result)
        ]
        body.append(
            page_html.section(
                "Before and after: inclusive ms per dependency",
                before_after(pairs, label, "this run"),
                anchor="before-after",
            )
        )
    body += analyze_sections(run, top, name="audit")
    return page_html.page(
        f"coldprof audit: {run.handler}",
        body,
        subtitle=f"{run.function_path} · Python {run.python} · {run.platform} {run.architecture}",
    )
