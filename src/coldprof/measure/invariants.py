"""What an analyze result must satisfy; a broken invariant is coldprof's bug, not the function's."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coldprof.measure.distributions import FUNCTION, UNRESOLVED, Attribution
from coldprof.results.analyze import DependencyCost

# How far one run's dependencies' self times may stray from the import time they divide up
# (CPython's rounding puts them a few µs per module above it).
SELF_SUM_TOLERANCE = 0.10
# Medians of samples rounded to the µs: below this, a difference is rounding.
_EPSILON_MS = 0.002


@dataclass(frozen=True)
class RunAttribution:
    """One cold start's modules by dependency, and the import time the trace measured in all."""

    modules: Mapping[str, Collection[str]]
    import_ms: float


def violations(
    costs: Sequence[DependencyCost],
    runs: Sequence[RunAttribution],
    attribution: Attribution,
    function_files: Collection[str] | None = None,
) -> tuple[str, ...]:
    """Every invariant the result breaks, one line each (empty: it holds together).

    ``function_files``: the function's own files relative to the task root, when coldprof built
    the package and so knows them apart from what pip installed.
    """
    found = [
        f"{c.name}: inclusive {c.inclusive_ms} ms < self {c.self_ms} ms"
        for c in costs
        if c.inclusive_ms < c.self_ms - _EPSILON_MS
    ]
    found += _modules_in_several(runs)
    found += _installed_as_function(runs, attribution, function_files)
    found += _selves_do_not_add_up(costs, runs)
    return tuple(found)


def _modules_in_several(runs: Sequence[RunAttribution]) -> list[str]:
    owners: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        for dep, modules in run.modules.items():
            for module in modules:
                owners[module].add(dep)
    return [
        f"module {module} attributed to {len(deps)} dependencies: {', '.join(sorted(deps))}"
        for module, deps in sorted(owners.items())
        if len(deps) > 1
    ]


def _installed_as_function(
    runs: Sequence[RunAttribution],
    attribution: Attribution,
    function_files: Collection[str] | None,
) -> list[str]:
    """A module counted as the function's that a distribution, a layer or pip put there."""
    modules = sorted({m for run in runs for m in run.modules.get(FUNCTION, ())})
    if not modules:
        return []
    installed_tops = {
        top
        for dist in attribution.distributions
        if dist.site != attribution.runtime_dir
        for top in dist.top_level
    }
    task_root = os.path.normpath(attribution.task_root)
    found = []
    for module in modules:
        if attribution.dependency_of(module).name == UNRESOLVED:
            continue  # a failed import charged to the function that tried it
        top = module.split(".")[0]
        file = attribution.module_file(module)
        where = str(file) if file else "no file"
        if top in installed_tops:
            found.append(f"module {module} ({where}) is the function's, but {top} is installed")
        elif file is not None and any(_under(file, layer) for layer in attribution.layer_dirs):
            found.append(f"module {module} ({where}) is the function's, but comes from a layer")
        elif (
            file is not None
            and function_files is not None
            and _under(file, task_root)
            and os.path.relpath(file, task_root) not in function_files
        ):
            found.append(f"module {module} ({where}) is the function's, but pip installed it")
    return found


def _under(file: Path | str, root: Path | str) -> bool:
    file, root = os.fspath(file), os.fspath(root)
    return file == root or file.startswith(root.rstrip(os.sep) + os.sep)


def _selves_do_not_add_up(
    costs: Sequence[DependencyCost], runs: Sequence[RunAttribution]
) -> list[str]:
    """Per run, not on the medians: a median of sums is no sum of medians, and on a busy
    machine three runs put them more than 10 % apart with nothing wrong in the attribution."""
    found = []
    for index, run in enumerate(runs):
        attributed = sum(c.self_ms_samples[index] for c in costs if index < len(c.self_ms_samples))
        if abs(attributed - run.import_ms) > SELF_SUM_TOLERANCE * run.import_ms + _EPSILON_MS:
            found.append(
                f"run {index + 1}: the dependencies' self times add up to {attributed:.1f} ms, "
                f"its imports took {run.import_ms:.1f} ms (more than "
                f"{SELF_SUM_TOLERANCE:.0%} apart)"
            )
    return found
