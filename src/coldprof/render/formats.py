"""The output formats: one str enum, and the format an output file's name asks for."""

from __future__ import annotations

import enum
from pathlib import Path


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"
    speedscope = "speedscope"
    github = "github"  # GitHub Actions workflow commands: ::error and ::warning annotations


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
