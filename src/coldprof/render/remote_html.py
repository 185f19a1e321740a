"""A remote sweep as one self-contained HTML page: charts against memory and size, tier tables.

It reads the result's JSON form (`to_dict()`), the stable contract, so it does not depend on
how the remote records are laid out in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from coldprof.figures import ms, plural, size
from coldprof.render import page_html
from coldprof.render.interactive_html import power_tuning_chart

TIER_HEADERS = (
    "memory MB",
    "cold",
    "warm",
    "init median ms",
    "init p90 ms",
    "warm median ms",
    "cold penalty ms",
    "$ per 1M cold",
    "$ per 1M warm",
)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def _tier_row(tier: Mapping[str, Any], recommended: int | None) -> list[str]:
    init = tier.get("init_ms") or {}
    cost = tier.get("cost_usd_per_million") or {}
    memory = int(tier.get("memory_mb", 0))
    return [
        f"{memory}{' (recommended)' if memory == recommended else ''}",
        str(len(tier.get("cold") or ())),
        str(len(tier.get("warm") or ())),
        ms(_number(init.get("median"))),
        ms(_number(init.get("p90"))),
        ms(_number((tier.get("warm_duration_ms") or {}).get("median"))),
        ms(_number(tier.get("cold_penalty_ms"))),
        _money(cost.get("cold")),
        _money(cost.get("warm")),
    ]


def package_size(function: Mapping[str, Any], measure: str) -> int | None:
    """The size the correlation used: the local package unzipped, or Lambda's CodeSize."""
    unzipped = function.get("package_unzipped_bytes")
    if measure == "unzipped" and unzipped:
        return int(unzipped)
    code = function.get("code_size_bytes")
    return int(code) if code else None


def series(
    functions: Sequence[Mapping[str, Any]], key: str
) -> list[tuple[str, list[float], list[float]]]:
    """Per function: its tiers' memory and one figure ("init" median or "cold_penalty")."""
    out = []
    for function in functions:
        xs, ys = [], []
        for tier in function.get("tiers") or ():
            value = (
                (tier.get("init_ms") or {}).get("median")
                if key == "init"
                else tier.get("cold_penalty_ms")
            )
            if value is not None:
                xs.append(float(tier.get("memory_mb", 0)))
                ys.append(float(value))
        out.append((str(function.get("name") or function.get("arn") or "?"), xs, ys))
    return out


def _charts_matplotlib(data: Mapping[str, Any]) -> str:
    from matplotlib.figure import Figure

    functions = list(data.get("functions") or ())
    measure = str((data.get("correlation") or {}).get("package_size_measure", "code_size"))
    colours = page_html.dependency_colours(str(f.get("name") or f.get("arn")) for f in functions)
    figure = Figure(figsize=(12, 4))
    axes = figure.subplots(1, 3)
    titles = ("Init Duration against memory", "Cold penalty against memory")
    for ax, key, title in zip(axes[:2], ("init", "cold_penalty"), titles, strict=True):
        for name, xs, ys in series(functions, key):
            if xs:
                ax.plot(xs, ys, marker="o", label=name, color=colours[name])
        ax.set_xscale("log", base=2)
        memories = sorted({x for _, xs, _ in series(functions, key) for x in xs})
        ax.set_xticks(memories, [f"{m:g}" for m in memories])
        ax.minorticks_off()
        ax.set_xlabel("memory (MB)", fontsize=9)
        ax.set_ylabel("median init (ms)" if key == "init" else "cold penalty (ms)", fontsize=9)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    scatter = axes[2]
    sizes = [package_size(f, measure) or 0 for f in functions]
    unit, divisor = ("MiB", 2**20) if max(sizes, default=0) >= 2**20 else ("KiB", 2**10)
    for function in functions:
        name = str(function.get("name") or function.get("arn"))
        bytes_ = package_size(function, measure)
        if not bytes_:
            continue
        inits = [
            float(t["init_ms"]["median"])
            for t in function.get("tiers") or ()
            if (t.get("init_ms") or {}).get("median") is not None
        ]
        scatter.scatter([bytes_ / divisor] * len(inits), inits, label=name, color=colours[name])
    scatter.set_xlabel(
        f"package size, {'unzipped' if measure == 'unzipped' else 'CodeSize (zipped)'} ({unit})",
        fontsize=9,
    )
    scatter.set_ylabel("median init per tier (ms)", fontsize=9)
    scatter.set_title("Init Duration against package size", fontsize=10)
    scatter.grid(alpha=0.3)
    scatter.tick_params(labelsize=8)
    if functions:
        axes[0].legend(fontsize=8)
    figure.tight_layout()
    return page_html.figure_svg(figure, "remote-charts")


def _charts_css(data: Mapping[str, Any]) -> str:
    """Without matplotlib: one bar per tier for init and the cold penalty, in plain boxes, on
    one scale across every function (a 72 ms bar is a sixth of a 430 ms one, whoever's)."""
    parts = [page_html.note(page_html.PLOT_NOTE)]
    functions = list(data.get("functions") or ())
    peak = max(
        [
            float(v)
            for f in functions
            for t in f.get("tiers") or ()
            for v in ((t.get("init_ms") or {}).get("median"), t.get("cold_penalty_ms"))
            if v is not None
        ]
        or [1.0]
    )
    for function in functions:
        name = str(function.get("name") or function.get("arn"))
        rows = []
        tiers = list(function.get("tiers") or ())
        for tier in tiers:
            for label, value, colour in (
                ("init", (tier.get("init_ms") or {}).get("median"), "#4e79a7"),
                ("cold penalty", tier.get("cold_penalty_ms"), "#f28e2b"),
            ):
                if value is None:
                    continue
                width = float(value) / peak * 100 if peak else 0
                rows.append(
                    f"<tr><td>{int(tier.get('memory_mb', 0))} MB</td><td>{label}</td>"
                    f'<td style="width:60%"><div style="background:{colour};height:12px;'
                    f'width:{width:.1f}%"></div></td>'
                    f'<td class="num">{ms(float(value))} ms</td></tr>'
                )
        parts.append(f"<h3>{page_html.escape(name)}</h3><table>{''.join(rows)}</table>")
    return "\n".join(parts)


def _correlation_table(correlation: Mapping[str, Any]) -> str:
    rows = []
    for key, relation in correlation.items():
        if not isinstance(relation, Mapping):
            continue
        spearman = relation.get("spearman")
        slope = relation.get("slope")
        rows.append(
            [
                key.replace("_", " "),
                str(relation.get("n", "")),
                "-" if spearman is None else f"{float(spearman):+.2f}",
                "-" if slope is None else f"{float(slope):+,.1f} {relation.get('slope_unit', '')}",
                str(relation.get("caveat") or ""),
            ]
        )
    if not rows:
        return '<p class="muted">No correlation was computed.</p>'
    return page_html.table(
        ("relation", "n", "Spearman ρ", "least-squares slope", "caveat"),
        rows,
        numeric=(False, True, True, True, False),
    )


def html(result: Any, **_options: Any) -> str:
    """A remote result (anything with `to_dict()` in the remote JSON contract) as a page."""
    data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    functions = list(data.get("functions") or ())
    settings = data.get("settings") or {}
    body = []
    if data.get("interrupted"):
        body.append(page_html.note("The sweep was interrupted: the figures are partial."))
    charts = (
        _charts_matplotlib(data)
        if page_html.plotting_available() and functions
        else _charts_css(data)
    )
    body.append(page_html.section("Init and cold penalty", charts, anchor="charts"))
    body.append(
        page_html.section(
            "How init moves with memory and package size",
            _correlation_table(data.get("correlation") or {}),
            anchor="correlation",
        )
    )
    for index, function in enumerate(functions):
        recommended = function.get("recommended_memory_mb")
        facts = [
            f"{function.get('arn', '')}",
            f"runtime {function.get('runtime') or '?'} · {function.get('architecture', '')} · "
            f"{function.get('package_type', 'Zip')} · CodeSize "
            f"{size(int(function.get('code_size_bytes') or 0))}"
            + (
                f" · package {size(int(function['package_unzipped_bytes']))} unzipped"
                if function.get("package_unzipped_bytes")
                else ""
            ),
            f"memory was {function.get('original_memory_mb', '?')} MB; "
            + ("restored exactly" if function.get("restored") else "NOT restored"),
        ]
        if function.get("recommendation"):
            facts.append(str(function["recommendation"]))
        if function.get("error"):
            facts.append(f"error: {function['error']}")
        body.append(
            page_html.section(
                str(function.get("name") or function.get("arn") or f"function {index + 1}"),
                page_html.facts(facts),
                power_tuning_chart(function),
                page_html.table(
                    TIER_HEADERS,
                    [_tier_row(t, recommended) for t in function.get("tiers") or ()],
                    numeric=(False, True, True, True, True, True, True, True, True),
                ),
                anchor=f"function-{index}",
            )
        )
    where = "the local emulator" if data.get("local") else "AWS Lambda"
    if data.get("runtime_client") and data["runtime_client"] != "awslambdaric":
        where += f" (runtime client: {data['runtime_client']})"
    subtitle = (
        f"{plural(len(functions), 'function')} on {where} · memory "
        f"{', '.join(str(m) for m in settings.get('memory_mb') or ())} MB · "
        f"{plural(int(settings.get('samples') or 0), 'cold sample')} per tier"
    )
    return page_html.page("coldprof remote", body, subtitle=subtitle)
