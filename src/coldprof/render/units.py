"""Human-readable figures shared by the text renderers."""

from __future__ import annotations

from coldprof.figures import size as size  # the audit's messages share it


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}"


def plural(count: int, noun: str) -> str:
    """`1 cold start`, `2 cold starts`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters: whitespace runs collapsed, the end cut to …"""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def shown_path(path: str) -> str:
    """A function's path as a reader knows it: relative to where coldprof runs, when under it
    (the repository root in CI), else as saved."""
    from pathlib import Path

    given = Path(path)
    if not given.is_absolute():
        return path
    try:
        return given.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return path
