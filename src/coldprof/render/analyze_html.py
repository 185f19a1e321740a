"""An analyze result as one self-contained HTML page: the import icicle and the dependency table."""

from __future__ import annotations

from typing import Any

from coldprof.figures import ms, size
from coldprof.measure.distributions import FUNCTION
from coldprof.render import page_html
from coldprof.render.analyze_text import (
    ADVISOR_HEADERS,
    DEPENDENCY_HEADERS,
    advisor_events,
    advisor_facts,
    advisor_rows,
    advisor_summary,
    advisor_title,
    first_invocation_facts,
    function_note,
    headline,
    lines_facts,
    ordered_dependencies,
    shown_inclusive_ms,
)
from coldprof.render.interactive_html import samples_plot
from coldprof.results.analyze import AnalyzeResult


def colours_for(result: AnalyzeResult) -> dict[str, str]:
    """Colours by dependency, heaviest first, so the big ones get the clearest colours."""
    tree_deps = []

    def walk(nodes: Any) -> None:
        for node in nodes:
            tree_deps.append(node.dependency)
            walk(node.children)

    walk(result.imports)
    return page_html.dependency_colours([d.name for d in result.dependencies] + tree_deps)


def dependency_table(result: AnalyzeResult, colours: dict[str, str], top: int | None) -> str:
    deps = list(result.dependencies)
    shown = ordered_dependencies(result, top)
    rows: list[list[page_html.Cell | str]] = [
        [
            page_html.Cell(
                markup=page_html.swatch(colours.get(d.name, "#999")) + page_html.escape(d.name)
            ),
            d.kind,
            d.version or "",
            ms(d.self_ms),
            ms(shown_inclusive_ms(d)),
            str(d.modules),
            size(d.unzipped_bytes) if d.unzipped_bytes else "",
            size(d.zipped_bytes) if d.zipped_bytes else "",
        ]
        for d in shown
    ]
    out = page_html.table(
        DEPENDENCY_HEADERS,
        rows,
        numeric=(False, False, False, True, True, True, True, True),
    )
    hidden = len(deps) - len(shown)
    if hidden > 0:
        out += f'<p class="muted">{hidden} more not shown.</p>'
    if note := function_note(result):
        out += f'<p class="muted">{page_html.escape(note)}</p>'
    return out


def advisor_section(result: AnalyzeResult, name: str) -> str:
    """The lazy-import advisor's findings (analyze --event/--verify); empty without them."""
    report = result.advisor
    if report is None:
        return ""
    parts = [
        page_html.facts(advisor_events(report)),
        f"<p>{page_html.escape(advisor_summary(report))}</p>",
    ]
    if report.deferrable:
        parts.append(page_html.table(ADVISOR_HEADERS, advisor_rows(report), numeric=(False, True)))
    parts.append(page_html.facts(advisor_facts(report)))
    parts += [page_html.note(f) for f in report.side_effects.findings]
    return page_html.section(advisor_title(report), *parts, anchor=f"{name}-advisor")


LINE_HEADERS = ("statement", "code", "kind", "callee", "self ms", "traced ms")
LINES_IN_HTML = 30


def lines_section(result: AnalyzeResult, name: str) -> str:
    """The function's own module-level statements, heaviest first; empty when not traced."""
    if not result.function_lines and not result.function_lines_note:
        return ""
    shown = result.function_lines[:LINES_IN_HTML]
    rows: list[list[page_html.Cell | str]] = [
        [
            line.where if line.dependency == FUNCTION else f"{line.where} ({line.dependency})",
            page_html.Cell(markup=f"<code>{page_html.escape(line.text)}</code>"),
            line.kind,
            line.callee or "",
            ms(line.self_ms),
            ms(line.traced_ms),
        ]
        for line in shown
    ]
    parts = [page_html.facts(lines_facts(result))]
    if rows:
        parts.append(
            page_html.table(LINE_HEADERS, rows, numeric=(False, False, False, False, True, True))
        )
    hidden = len(result.function_lines) - len(shown)
    if hidden > 0:
        parts.append(f'<p class="muted">{hidden} more in the JSON report.</p>')
    return page_html.section(
        "The function's own init, line by line", *parts, anchor=f"{name}-lines"
    )


def analyze_sections(
    result: AnalyzeResult, top: int | None = None, name: str = "analyze"
) -> list[str]:
    """The body of an analyze page; the audit page embeds the same sections."""
    colours = colours_for(result)
    chart_deps = [d.name for d in result.dependencies if d.inclusive_ms > 0 or d.self_ms > 0]
    sections = [
        page_html.section(
            "Import tree at init",
            '<p class="muted">Each box is a module, as wide as its import took with what it '
            "imported in turn, under the module that imported it first. Colour: its dependency. "
            "Hover for times.</p>",
            page_html.legend(colours, chart_deps),
            page_html.icicle(result.imports, colours, f"{name}-imports"),
            anchor=f"{name}-tree",
        ),
        lines_section(result, name),
        page_html.section(
            "What each dependency costs",
            '<p class="muted">self: its own modules\' import time; inclusive: its first import '
            "with everything that pulled in, the most deferring it saves (medians over the "
            "runs).</p>",
            dependency_table(result, colours, top),
            anchor=f"{name}-dependencies",
        ),
    ]
    sections = [section for section in sections if section]
    advice = advisor_section(result, name)
    if advice:
        sections.append(advice)
    if result.init_ms.samples:
        sections.append(
            page_html.section(
                "Init samples",
                '<p class="muted">Each cold start\'s init, one dot per run (hover for its '
                "time); the dashed line is the median.</p>",
                samples_plot(result.init_ms.samples),
                anchor=f"{name}-samples",
            )
        )
    if result.failure is not None:
        sections.insert(
            0,
            page_html.section(
                "The function failed at init",
                page_html.note(result.failure.message),
                f"<pre><code>{page_html.escape(result.failure.output)}</code></pre>",
                anchor=f"{name}-failure",
            ),
        )
    return sections


def html(result: AnalyzeResult, top: int | None = None, **_options: Any) -> str:
    """The analyze page: the facts, the import icicle and the dependency table."""
    facts = [*headline(result), *first_invocation_facts(result)]
    body = [page_html.facts(facts), *analyze_sections(result, top)]
    return page_html.page(
        f"coldprof analyze: {result.handler}",
        body,
        subtitle=f"{result.function_path} · Python {result.python} · "
        f"{result.platform} {result.architecture}",
    )
