"""A logs result as one self-contained HTML page: init percentiles per function, on one scale."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from coldprof.render import page_html as page
from coldprof.render.logs_text import HEADERS, footnotes, rows, title
from coldprof.results.logs import FunctionLogs, LogsResult


def _chart(functions: Iterable[FunctionLogs]) -> str:
    """Init percentiles per function on one scale: p50, p90 and p99 bars, a tick at the max."""
    shown = [f for f in functions if f.stats.init_ms is not None]
    if not shown:
        return page.note("No cold start in the window: nothing to chart.")
    scale = max(f.stats.init_ms.max for f in shown if f.stats.init_ms) or 1.0
    width, label_w, row_h = 640, 220, 26
    height = row_h * len(shown) + 30
    parts = [
        f'<svg class="chart" role="img" width="{width + label_w + 60}" height="{height}" '
        f'aria-label="Init Duration percentiles per function">'
    ]
    for index, function in enumerate(shown):
        init = function.stats.init_ms
        assert init is not None
        y = 10 + index * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
            f"{page.escape(function.name)}</text>"
        )
        for value, shade, name in (
            (init.p99, "#c6dbef", "p99"),
            (init.p90, "#6baed6", "p90"),
            (init.p50, "#08519c", "p50"),
        ):
            length = value / scale * width
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="16" fill="{shade}">'
                f"<title>{page.escape(function.name)} {name}: {value:,.1f} ms</title></rect>"
            )
        tick = label_w + init.max / scale * width
        parts.append(
            f'<line x1="{tick:.1f}" x2="{tick:.1f}" y1="{y}" y2="{y + 22}" stroke="#000">'
            f"<title>max: {init.max:,.1f} ms</title></line>"
        )
        parts.append(
            f'<text x="{tick + 4:.1f}" y="{y + 15}">{init.p50:,.0f} / {init.p90:,.0f} / '
            f"{init.p99:,.0f} ms</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def html(result: LogsResult, **_options: Any) -> str:
    headers = HEADERS
    numeric = [False, *[True] * (len(HEADERS) - 1)]
    body = [
        page.section(
            "Init Duration per function",
            _chart(result.functions),
            page.note("Bars: p50 (dark), p90, p99 (light), on one scale; the tick is the max."),
        ),
        page.section("Functions", page.table(headers, rows(result), numeric)),
        page.section("Notes", page.facts(footnotes(result))),
    ]
    return page.page("coldprof logs", body, subtitle=title(result))
