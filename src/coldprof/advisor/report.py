"""Pure: an analyze result, the usage trace and the invocations → the advisor's report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from coldprof.advisor.fix import suggest_fix
from coldprof.advisor.sites import import_sites, relative
from coldprof.advisor.unused import (
    CANDIDATE_KINDS,
    classify,
    dependency_entries,
    imported_by_function,
    needed_at_init,
    root_of,
    tree_saving,
    used_by_invocation,
    walk,
)
from coldprof.advisor.usage import Resolver, UsageTrace
from coldprof.measure.distributions import FUNCTION
from coldprof.results.advisor import (
    AdvisorReport,
    Deferrable,
    EventRun,
    FirstCallImport,
    KeptDependency,
)
from coldprof.results.analyze import AnalyzeResult


def advise(
    result: AnalyzeResult,
    usage: UsageTrace | None,
    events: Sequence[EventRun],
    resolver: Resolver,
    task_root: Path,
) -> AdvisorReport:
    """Find the deferrable dependencies of ``result`` given what the invocations ran.

    ``result`` gives the merged import tree and per-dependency costs, ``usage`` what the traced
    cold start ran, ``events`` how each ``--event`` invocation went. Each finding is reported
    where the function's own code imports it (see unused.py for what counts as deferrable).
    """
    costs = {d.name: d for d in result.dependencies}
    candidates = {d.name for d in result.dependencies if d.kind in CANDIDATE_KINDS}
    notes: list[str] = []
    if usage is None:
        notes.append("the traced cold start left no usage trace: nothing can be called unused")
        return AdvisorReport("", result.python, tuple(events), (), 0.0, notes=tuple(notes))

    per_invocation = used_by_invocation(usage, resolver, candidates)
    runs = [
        replace(e, used=tuple(sorted(per_invocation[i]))) if i < len(per_invocation) else e
        for i, e in enumerate(events)
    ]
    if not events:
        notes.append(
            "no --event given: no invocation ran, so every dependency your code imports at "
            "init counts as deferrable; give the events your function handles to keep what "
            "they use"
        )
    if len(per_invocation) < sum(1 for e in events if e.status != "not run"):
        notes.append("some invocations left no usage record (the runtime died mid-invocation)")
    if usage.tracer == "sys.setprofile":
        notes.append(
            "traced with sys.setprofile (Python < 3.12): code run by threads started at init "
            "is not seen"
        )
    used_any = set().union(*per_invocation) if per_invocation else set()
    needed = needed_at_init(usage, resolver, candidates)
    unused = candidates - used_any - set(needed)
    entries = dependency_entries(result.imports)
    classified = classify(entries, unused, candidates)

    kept: list[KeptDependency] = []
    for name in sorted(candidates & imported_by_function(entries)):
        used_by = tuple(
            e.event for e, used in zip(runs, per_invocation, strict=False) if name in used
        )
        if used_by:
            every = len(used_by) == len(per_invocation)
            reason = "used by every event" if every else f"used only by {', '.join(used_by)}"
            kept.append(KeptDependency(name, reason, used_by))
        elif name in needed:
            where = relative(Path(needed[name]), task_root)
            kept.append(KeptDependency(name, f"called by module-level code at init ({where})"))
        elif name in classified.kept:
            kept.append(KeptDependency(name, classified.kept[name]))

    function_modules = [
        node.module for root in result.imports for node in walk(root) if node.dependency == FUNCTION
    ]
    sites = import_sites(
        dict.fromkeys(function_modules), set(classified.roots), resolver, task_root
    )

    deferrable = []
    for name in classified.roots:
        cost = costs[name]
        pulls = sorted(
            p for p in classified.pulled if name in root_of(p, classified.pulled, classified.roots)
        )
        found = sorted(sites.get(name, []), key=lambda s: (s.file, s.line))
        deferrable.append(
            Deferrable(
                name=name,
                kind=cost.kind,
                version=cost.version,
                saving_ms=cost.inclusive_ms,
                pulls=tuple(pulls),
                sites=tuple(found),
                fix=suggest_fix(found, result.python),
            )
        )
    deferrable.sort(key=lambda d: (-d.saving_ms, d.name))
    first_call = _first_call_imports(result, runs, per_invocation, candidates)
    total = tree_saving(result.imports, [*classified.roots, *classified.pulled])
    return AdvisorReport(
        tracer=usage.tracer,
        python=usage.python or result.python,
        events=tuple(runs),
        deferrable=tuple(deferrable),
        total_saving_ms=total,
        kept=tuple(kept),
        side_effects=usage.effects,
        notes=tuple(notes),
        first_call=first_call,
    )


def _first_call_imports(
    result: AnalyzeResult,
    runs: Sequence[EventRun],
    per_invocation: Sequence[set[str]],
    imported_at_init: set[str],
) -> tuple[FirstCallImport, ...]:
    """Dependencies invocations ran that init never imported, with the first invocation's
    import time of each where the timed runs measured it."""
    measured = (
        {i.name: i.inclusive_ms for i in result.first_invocation.imports}
        if result.first_invocation is not None
        else {}
    )
    found = []
    for name in sorted(set().union(*per_invocation) - imported_at_init if per_invocation else ()):
        used_by = tuple(
            e.event for e, used in zip(runs, per_invocation, strict=False) if name in used
        )
        found.append(FirstCallImport(name, measured.get(name), used_by))
    return tuple(found)
