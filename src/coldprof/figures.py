"""Figures written for people, shared by results' messages and the renderers: sizes in KiB/MiB."""

from __future__ import annotations


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
