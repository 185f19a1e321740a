"""A logs result as a table per function (costliest init first) and as markdown."""

from __future__ import annotations

import datetime
from typing import Any

from coldprof.figures import ms, plural
from coldprof.results.logs import LogsResult, LogStats

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
            lines.append(f"{function.name}: {plural(function.stats.restores, 'SnapStart restore')}")
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
