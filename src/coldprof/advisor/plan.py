"""What --verify's rewritten copy defers, file by file, and the saving predicted for it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coldprof.advisor.imports import module_imports
from coldprof.advisor.rewrite import Deferral, plan_deferrals
from coldprof.advisor.unused import tree_saving
from coldprof.results.advisor import AdvisorReport, ImportSite
from coldprof.results.analyze import ImportTreeNode


@dataclass(frozen=True)
class RewritePlan:
    """What ``--verify`` changes in the copy, per file, and what it leaves alone."""

    deferred: tuple[str, ...]
    by_file: Mapping[str, tuple[ImportSite, ...]]  # relative file → sites to move
    skipped: tuple[str, ...]
    predicted_ms: float


def rewrite_plan(report: AdvisorReport, imports: Sequence[ImportTreeNode]) -> RewritePlan:
    """Defer every finding whose import sites can all move; predict what that saves."""
    deferred, skipped = [], []
    by_file: dict[str, list[ImportSite]] = defaultdict(list)
    for finding in report.deferrable:
        if finding.movable:
            deferred.append(finding.name)
            for site in finding.sites:
                by_file[site.file].append(site)
        else:
            why = next((f"{s.where}: {s.reason}" for s in finding.sites if s.reason), None)
            skipped.append(f"{finding.name}: {why or 'no import statement found'}")
    # What a deferred finding pulls in sits in its subtree: tree_saving counts it there.
    return RewritePlan(
        deferred=tuple(deferred),
        by_file={k: tuple(v) for k, v in by_file.items()},
        skipped=tuple(skipped),
        predicted_ms=tree_saving(imports, deferred),
    )


def plan_deferrals_for(sites: Sequence[ImportSite], source: str) -> list[Deferral]:
    """The rewrite's verdicts for the sites of one file, recomputed from its source."""
    module = sites[0].module
    is_package = sites[0].file.endswith("__init__.py")
    statements = {s.line: s for s in module_imports(source, module, is_package)}
    targets: set[tuple[int, str]] = set()
    for site in sites:
        statement = statements.get(site.line)
        if statement is None:
            continue
        texts = set(site.imports.split("; "))
        targets.update((site.line, b.name) for b in statement.bindings if b.text in texts)
    return plan_deferrals(source, module, is_package, targets)
