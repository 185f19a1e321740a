"""How the audit's messages write a figure: ms, signed ms, sizes."""

from __future__ import annotations

from coldprof.figures import size

MB = 1024 * 1024


def ms(value: float) -> str:
    return f"{value:,.1f} ms"


def signed_ms(value: float) -> str:
    return f"{value:+,.1f} ms"


def mb(value: float) -> str:
    return size(int(value))


def signed_mb(value: float) -> str:
    return ("+" if value >= 0 else "-") + size(int(abs(value)))
