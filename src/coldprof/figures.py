"""Figures written for people: milliseconds, sizes in KiB/MiB, plurals, paths; for every report."""

from __future__ import annotations

from pathlib import Path


def size(value: int | None) -> str:
    """Bytes in binary units, named as such (KiB, MiB): Lambda's package limits ("250 MB") are
    counted in these, so a size reads against them directly."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    units = ("B", "KiB", "MiB", "GiB")
    amount = float(value)
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            return f"{amount:,.0f} {unit}" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return f"{amount:,.1f} GiB"


def ms(value: float | None) -> str:
    """Milliseconds with one decimal and thousands separators; "-" when not measured."""
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
    given = Path(path)
    if not given.is_absolute():
        return path
    try:
        return given.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return path
