"""The analyze invariants, checked again from a saved JSON result and the package on disk."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

FUNCTION = "(function)"


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from walk(node["children"])


def installed_top_levels(site: Path) -> set[str]:
    """Top-level names the RECORD files in ``site`` install (read here, not by coldprof)."""
    tops = set()
    for record in site.glob("*.dist-info/RECORD"):
        with open(record, newline="") as handle:
            for row in csv.reader(handle):
                first = row[0].split("/", 1)[0] if row else ""
                if first and not first.endswith((".dist-info", ".data")) and first != "..":
                    tops.add(first.split(".")[0])
    return tops - {"__pycache__"}


def problems(result: Mapping[str, Any], function_dir: Path) -> list[str]:
    """Every invariant the saved result breaks; ``function_dir`` is the user's own folder."""
    found = [f"coldprof reported: {p}" for p in result.get("attribution_problems", ())]
    for dep in result["dependencies"]:
        if dep["inclusive_ms"] < dep["self_ms"]:
            found.append(f"{dep['name']}: inclusive {dep['inclusive_ms']} < self {dep['self_ms']}")
        pairs = zip(dep["self_ms_samples"], dep["inclusive_ms_samples"], strict=True)
        if any(inclusive < own for own, inclusive in pairs):
            found.append(f"{dep['name']}: a run with inclusive < self")

    owners: dict[str, set[str]] = {}
    for node in walk(result["imports"]):
        owners.setdefault(node["module"], set()).add(node["dependency"])
    found += [f"{m} in {sorted(d)}" for m, d in owners.items() if len(d) > 1]

    own = {p.stem if p.suffix == ".py" else p.name for p in function_dir.iterdir()}
    installed = installed_top_levels(Path(result["task_root"]))
    for module, deps in owners.items():
        top = module.split(".")[0]
        if FUNCTION in deps and (top in installed or top not in own):
            found.append(f"{module} classified as the function's, but the function has no {top}")

    # Per run: the medians of parts need not add up to the median of the whole.
    for run, imports_ms in enumerate(result["import_ms"]["samples"]):
        selves = sum(dep["self_ms_samples"][run] for dep in result["dependencies"])
        if abs(selves - imports_ms) > 0.10 * imports_ms:
            found.append(f"run {run}: self times add up to {selves:.1f} ms, imports {imports_ms}")
    return found
