"""The import tree as a speedscope file (https://www.speedscope.app/file-format-schema.json).

An "evented" profile: each module is a frame opened when its import starts and closed when it
ends, in milliseconds. Children are laid end to end from their parent's start and the parent's
own time follows them, as `-X importtime` reports children before their parent. A root frame
spans the median init, so the time outside any import (interpreter and runtime start-up) shows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from coldprof.results.analyze import AnalyzeResult, ImportTreeNode

if TYPE_CHECKING:
    from coldprof.results.audit import AuditResult

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def _width(node: ImportTreeNode) -> float:
    # Medians across runs: a parent may come out a hair shorter than its children together.
    return max(node.cumulative_ms, node.self_ms + sum(_width(c) for c in node.children))


def document(result: AnalyzeResult) -> dict[str, Any]:
    """The speedscope file as a dict."""
    frames: list[dict[str, Any]] = []
    index: dict[tuple[str, str], int] = {}
    events: list[dict[str, Any]] = []

    def frame(name: str, file: str) -> int:
        key = (name, file)
        if key not in index:
            index[key] = len(frames)
            frames.append({"name": name, "file": file})
        return index[key]

    def emit(node: ImportTreeNode, at: float) -> float:
        ident = frame(node.module, node.dependency)
        end = at + _width(node)
        events.append({"type": "O", "frame": ident, "at": round(at, 3)})
        offset = at
        for child in node.children:
            offset = emit(child, offset)
        events.append({"type": "C", "frame": ident, "at": round(end, 3)})
        return end

    imports_ms = sum(_width(r) for r in result.imports)
    total = max(imports_ms, result.init_ms.median)
    root = frame(f"init {result.handler}", "(init)")
    events.append({"type": "O", "frame": root, "at": 0.0})
    offset = 0.0
    for node in result.imports:
        offset = emit(node, offset)
    events.append({"type": "C", "frame": root, "at": round(total, 3)})
    name = f"coldprof import tree: {result.handler}"
    return {
        "$schema": SCHEMA,
        "name": name,
        "exporter": "coldprof",
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "evented",
                "name": name,
                "unit": "milliseconds",
                "startValue": 0.0,
                "endValue": round(total, 3),
                "events": events,
            }
        ],
    }


def speedscope(result: AnalyzeResult, **_options: Any) -> str:
    """An analyze result's import tree as speedscope JSON."""
    return json.dumps(document(result), separators=(",", ":")) + "\n"


def audit_speedscope(result: AuditResult, **options: Any) -> str:
    """An audit's current run, as `speedscope` gives it."""
    return speedscope(result.result, **options)
