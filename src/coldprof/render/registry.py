"""Which renderer draws which result kind in which format: one explicit table, nothing guessed."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from coldprof.errors import UsageError
from coldprof.render.formats import OutputFormat

if TYPE_CHECKING:
    from coldprof.results.load import Result

Renderer = Callable[..., str]
F = OutputFormat

# (result kind, format) → (module in coldprof.render, function). A module is imported only when
# its renderer is asked for, so `coldprof --help` never pays for tabulate, and rendering one
# kind never imports another kind's records.
RENDERERS: dict[tuple[str, OutputFormat], tuple[str, str]] = {
    ("analyze", F.table): ("analyze_text", "table"),
    ("analyze", F.json): ("result_json", "render"),
    ("analyze", F.markdown): ("analyze_text", "markdown"),
    ("analyze", F.html): ("analyze_html", "html"),
    ("analyze", F.speedscope): ("analyze_speedscope", "speedscope"),
    ("analyze", F.github): ("analyze_github", "github"),
    ("audit", F.table): ("audit_text", "table"),
    ("audit", F.json): ("result_json", "render"),
    ("audit", F.markdown): ("audit_text", "markdown"),
    ("audit", F.html): ("audit_html", "html"),
    ("audit", F.speedscope): ("analyze_speedscope", "audit_speedscope"),
    ("audit", F.github): ("audit_github", "github"),
    ("remote", F.table): ("remote_text", "table"),
    ("remote", F.json): ("result_json", "render"),
    ("remote", F.markdown): ("remote_text", "markdown"),
    ("remote", F.html): ("remote_html", "html"),
    ("logs", F.table): ("logs_text", "table"),
    ("logs", F.json): ("result_json", "render"),
    ("logs", F.markdown): ("logs_text", "markdown"),
    ("logs", F.html): ("logs_html", "html"),
    ("project", F.table): ("project_text", "table"),
    ("project", F.json): ("result_json", "render"),
    ("project", F.markdown): ("project_text", "markdown"),
    ("project_audit", F.table): ("project_audit_text", "table"),
    ("project_audit", F.json): ("result_json", "render"),
    ("project_audit", F.markdown): ("project_audit_text", "markdown"),
}

# The one line that sums a result up, for stdout when the report went to --output; kinds not
# listed print "coldprof KIND".
SUMMARIES: dict[str, tuple[str, str]] = {
    "analyze": ("analyze_text", "summary"),
    "audit": ("audit_text", "summary"),
    "remote": ("remote_text", "summary"),
}


def _load(module: str, name: str) -> Renderer:
    function: Renderer = getattr(importlib.import_module(f"coldprof.render.{module}"), name)
    return function


def renderer(kind: str, fmt: OutputFormat) -> Renderer:
    """The function that draws ``kind`` in ``fmt``; a usage error for a pair that has none."""
    where = RENDERERS.get((kind, fmt))
    if where is None:
        raise UsageError(f"--format {fmt.value} is not available for {kind} results")
    return _load(*where)


def render(result: Result, fmt: OutputFormat, **options: Any) -> str:
    """``result`` in ``fmt``; ``options`` (``top``) go to the renderers that take them."""
    return renderer(result.kind, fmt)(result, **options)


def summary(result: Result) -> str:
    """One line that sums a result up, for stdout when the report went to --output."""
    where = SUMMARIES.get(result.kind)
    return _load(*where)(result) if where is not None else f"coldprof {result.kind}"


def supported(kind: str) -> list[OutputFormat]:
    """The formats a result kind can be rendered in, in the enum's order."""
    return [f for f in OutputFormat if (kind, f) in RENDERERS]
