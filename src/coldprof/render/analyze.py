"""How an analyze result reads as a terminal table and as markdown."""

from __future__ import annotations

from typing import Any

from ..models import AnalyzeResult
from .units import ms, size

DEPENDENCY_HEADERS = (
    "dependency",
    "kind",
    "version",
    "self ms",
    "inclusive ms",
    "modules",
    "unzipped",
    "zipped",
)


def dependency_rows(result: AnalyzeResult, top: int | None) -> list[list[Any]]:
    deps = list(result.dependencies)
    shown = deps[:top] if top else deps
    return [
        [
            d.name,
            d.kind,
            d.version or "",
            ms(d.self_ms),
            ms(d.inclusive_ms),
            d.modules,
            size(d.unzipped_bytes) if d.unzipped_bytes else "",
            size(d.zipped_bytes) if d.zipped_bytes else "",
        ]
        for d in shown
    ]


def headline(result: AnalyzeResult) -> list[str]:
    lines = [f"handler {result.handler}  ·  Python {result.python}  ·  {result.runs} cold starts"]
    if result.failure is not None:
        lines.append(f"init failed ({result.failure.status}): {result.failure.message}")
    elif result.init_ms.samples:
        i = result.init_ms
        lines.append(
            f"init ms: median {ms(i.median)}  p90 {ms(i.p90)}  min {ms(i.min)}  max {ms(i.max)}"
        )
    p = result.package
    penalty = (
        f"{ms(p.bytecode_penalty_ms)} ms without it"
        if p.bytecode_penalty_ms is not None
        else "not measured"
    )
    lines.append(
        f"package: {size(p.unzipped_bytes)} unzipped, {size(p.zipped_bytes)} zipped, {p.files} files; "
        f"bytecode {'shipped' if p.has_bytecode else 'NOT shipped'} ({penalty})"
    )
    lines.extend(f"warning: {w}" for w in p.warnings)
    return lines


def table(result: AnalyzeResult, top: int | None = 15, **_options: Any) -> str:
    from tabulate import tabulate

    rows = dependency_rows(result, top)
    body = tabulate(
        rows,
        headers=DEPENDENCY_HEADERS,
        tablefmt="simple",
        disable_numparse=True,
        colalign=("left", "left", "left", "right", "right", "right", "right", "right"),
    )
    out = "\n".join(headline(result)) + "\n\n" + body + "\n"
    hidden = len(result.dependencies) - len(rows)
    if hidden > 0:
        out += f"({hidden} more; --top 0 shows all)\n"
    return out


def escape_markdown(text: str) -> str:
    """Keep names like (stdlib) and <module> literal in GitHub markdown."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(result: AnalyzeResult, top: int | None = None, **_options: Any) -> str:
    from tabulate import tabulate

    lines = [f"## coldprof analyze: `{result.handler}`", ""]
    lines += [f"- {escape_markdown(line)}" for line in headline(result)]
    rows = [[escape_markdown(str(cell)) for cell in row] for row in dependency_rows(result, top)]
    lines += [
        "",
        tabulate(rows, headers=DEPENDENCY_HEADERS, tablefmt="github", disable_numparse=True),
        "",
    ]
    return "\n".join(lines)


# HTML and speedscope live in their own modules; `render()` finds them here by format name.
from .analyze_html import html  # noqa: E402, F401
from .speedscope import speedscope  # noqa: E402, F401
