"""Output formats: one str enum, each value mapped to exactly one renderer."""

from __future__ import annotations

import enum
import importlib
from pathlib import Path
from typing import Any

from coldprof.errors import UsageError


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"
    speedscope = "speedscope"
    github = "github"  # GitHub Actions workflow commands: ::error and ::warning annotations


def render(result: Any, fmt: OutputFormat, **options: Any) -> str:
    """Render an analyze, remote or audit result in ``fmt``.

    JSON is generic (every result has ``to_dict``); the other formats live in one module per
    result kind (``render/analyze.py``, ``render/remote.py``, ...), as functions named after the
    format. Modules are imported on use, so `coldprof --help` never pays for tabulate.
    """
    if fmt is OutputFormat.json:
        from coldprof.render.jsonrenderer import render as render_json

        return render_json(result)
    module = importlib.import_module(f"{__name__}.{result.kind}")
    renderer = getattr(module, fmt.value, None)
    if renderer is None:
        raise UsageError(f"--format {fmt.value} is not available for {result.kind} results")
    return str(renderer(result, **options))


def summary(result: Any) -> str:
    """One line that sums a result up, for stdout when the report went to --output."""
    module = importlib.import_module(f"{__name__}.{result.kind}")
    line = getattr(module, "summary", None)
    return str(line(result)) if line is not None else f"coldprof {result.kind}"


def supported(kind: str) -> list[OutputFormat]:
    """The formats a result kind can be rendered in."""
    module = importlib.import_module(f"{__name__}.{kind}")
    return [f for f in OutputFormat if f is OutputFormat.json or hasattr(module, f.value)]


_EXTENSIONS = {
    ".json": OutputFormat.json,
    ".md": OutputFormat.markdown,
    ".markdown": OutputFormat.markdown,
    ".html": OutputFormat.html,
    ".htm": OutputFormat.html,
    ".txt": OutputFormat.table,
}


def format_for_path(path: Path) -> OutputFormat | None:
    """The format an output file's name asks for (``*.speedscope.json`` is speedscope)."""
    if path.name.endswith(".speedscope.json"):
        return OutputFormat.speedscope
    return _EXTENSIONS.get(path.suffix.lower())
