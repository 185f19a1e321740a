"""The fix for one finding, written for the function's Python: move the import, or PEP 810."""

from __future__ import annotations

import re
from collections.abc import Sequence

from coldprof.results.advisor import ImportSite

LAZY_IMPORT_PYTHON = (3, 15)  # PEP 810


def python_version(text: str) -> tuple[int, int]:
    """``(3, 12)`` for "3.12.1"; ``(0, 0)`` when it names no version."""
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def suggest_fix(sites: Sequence[ImportSite], python: str) -> str:
    """The fix that fits the runtime, for one finding."""
    if not sites:
        return "no import statement found in your code (a dynamic import?): defer it by hand"
    if python_version(python) >= LAZY_IMPORT_PYTHON:
        lazy = "; ".join(f"{s.where}: `lazy {s.imports}`" for s in sites)
        modules = sorted({s.imports.split()[1] for s in sites})
        return f"{lazy} (PEP 810), or list {', '.join(modules)} in `__lazy_modules__`"
    parts = []
    for site in sites:
        if not site.movable:
            parts.append(f"{site.where}: {site.reason}")
        elif site.functions:
            into = ", ".join(f"{f}()" for f in site.functions)
            parts.append(f"move `{site.imports}` ({site.where}) into {into}")
        else:
            parts.append(f"delete `{site.imports}` ({site.where}): its users import it themselves")
    return "; ".join(parts)
