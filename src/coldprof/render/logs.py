"""How a logs result reads: a table per function (costliest init first), markdown, and HTML."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from coldprof.render import html as page
from coldprof.render.units import ms, plural
from coldprof.results.logs import FunctionLogs, LogsResult, LogStats

HEADERS = (
    "function",
    "invocations",
    "cold starts",
    "cold rate",
    "init p50",
    "init p90",
    "init p99",
    "init max",
    "warm p50",
    "cold p50",
    "memory MB",
    "init $/month",
)
ALIGN = ("left", *("right",) * (len(HEADERS) - 1))


def _day(epoch_ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _span(days: float) -> str:
    if days >= 2:
        return f"{days:,.1f} days"
    if days * 24 >= 2:
        return f"{days * 24:,.1f} hours"
    return f"{days * 1440:,.1f} minutes"


def title(result: LogsResult) -> str:
    source = {"insights": "Logs Insights", "filter": "FilterLogEvents"}.get(
        result.source,
        result.source.replace("insights", "Logs Insights").replace("filter", "FilterLogEvents"),
    )
    return (
        f"coldprof logs: {plural(len(result.functions), 'function')}, "
        f"{_day(result.start_ms)} to {_day(result.end_ms)} ({_span(result.window_days)}), "
        f"read with {source}"
    )


def _dollars(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.01 or value == 0 else f"{value:,.4f}"


def _row(label: str, stats: LogStats) -> list[str]:
    init = stats.init_ms
    return [
        label,
        f"{stats.invocations:,}",
        f"{stats.cold_starts:,}",
        f"{stats.cold_start_rate:.1%}" if stats.invocations else "-",
        ms(init.p50 if init else None),
        ms(init.p90 if init else None),
        ms(init.p99 if init else None),
        ms(init.max if init else None),
        ms(stats.warm_duration_p50_ms),
        ms(stats.cold_duration_p50_ms),
        ", ".join(str(m) for m in stats.memory_sizes) or "-",
        _dollars(stats.init_usd_per_month),
    ]


def rows(result: LogsResult) -> list[list[str]]:
    out = []
    for function in result.functions:
        out.append(_row(function.name, function.stats))
        out += [_row(f"  {result.by} {key}", stats) for key, stats in function.groups]
    return out


def footnotes(result: LogsResult) -> list[str]:
    lines = [
        "ms columns: init is Init Duration; warm and cold p50 are the handler's Duration.",
        "init $/month: Init Duration billed (since 2025-08-01) at the function's "
        "architecture's price per GB-second, scaled from the window to 30 days.",
    ]
    for function in result.functions:
        if function.stats.failed_inits:
            failed = ", ".join(f"{n} {status}" for status, n in function.stats.failed_inits.items())
            lines.append(f"{function.name}: failed inits ({failed})")
        if function.stats.restores:
            lines.append(
                f"{function.name}: {plural(function.stats.restores, 'SnapStart restore')}"
            )
        if function.note:
            lines.append(f"{function.name}: {function.note}")
    lines += list(result.notes)
    return lines


def table(result: LogsResult, **_options: Any) -> str:
    from tabulate import tabulate

    out = [title(result), ""]
    if result.functions:
        out.append(
            tabulate(
                rows(result),
                headers=HEADERS,
                tablefmt="simple",
                disable_numparse=True,
                colalign=ALIGN,
            )
        )
        out.append("")
    out += footnotes(result)
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(result: LogsResult, **_options: Any) -> str:
    from tabulate import tabulate

    out = [f"# {_escape(title(result))}", ""]
    if result.functions:
        body = [[_escape(cell) for cell in row] for row in rows(result)]
        out.append(
            tabulate(
                body, headers=HEADERS, tablefmt="github", disable_numparse=True, colalign=ALIGN
            )
        )
        out.append("")
    out += [f"- {_escape(line)}" for line in footnotes(result)]
    return "\n".join(out) + "\n"


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
