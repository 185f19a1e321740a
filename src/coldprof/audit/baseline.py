"""A run against its baseline: is it comparable, and how each dependency changed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from coldprof.audit.noise import compare, compare_paired
from coldprof.errors import UsageError
from coldprof.measure.distributions import STDLIB
from coldprof.results.analyze import AnalyzeResult, DependencyCost, ImportTreeNode
from coldprof.results.audit import Budgets, Delta, DependencyChange


class IncomparableBaselineError(UsageError):
    """The baseline was measured where init times mean something else (Python, OS, CPU)."""


# -- comparability ------------------------------------------------------------------------------
def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_comparable(
    baseline: AnalyzeResult, python: str, platform: str, architecture: str
) -> None:
    """Refuse a baseline measured on another Python, OS or CPU: its times mean something else."""
    if baseline.failure is not None:
        raise UsageError(
            "the baseline records a failed init, so there is nothing to compare with",
            hint="regenerate it with --update-baseline once the function initializes",
        )
    reasons = []
    if baseline.python and _minor(baseline.python) != _minor(python):
        reasons.append(
            f"it was measured on Python {baseline.python} and this run uses Python {python}; "
            "import times differ between Python versions"
        )
    if baseline.platform and baseline.platform != platform:
        reasons.append(
            f"it was measured on {baseline.platform} and this run is on {platform}; "
            "the same imports cost differently on another operating system"
        )
    if baseline.architecture and baseline.architecture != architecture:
        reasons.append(
            f"it was measured on {baseline.architecture} and this run is on {architecture}; "
            "times from another CPU architecture are not comparable"
        )
    if reasons:
        raise IncomparableBaselineError(
            "cannot compare with the baseline: " + "; and ".join(reasons),
            hint="measure the baseline where the audit runs (same Python, OS and architecture), "
            "or write a new one with --update-baseline",
        )


def dependency_changes(
    baseline: AnalyzeResult,
    result: AnalyzeResult,
    budgets: Budgets,
    scale: float,
    paired: bool = False,
) -> tuple[DependencyChange, ...]:
    before = {d.name: d for d in baseline.dependencies}
    after = {d.name: d for d in result.dependencies}
    names = list(after) + [n for n in before if n not in after]
    changes = []
    for name in names:
        old, new = before.get(name), after.get(name)
        absent = DependencyCost(name, (new or old).kind, None, 0.0, 0.0, 0, 0, 0)  # type: ignore[union-attr]
        old_cost, new_cost = old or absent, new or absent
        if paired:
            self_delta = compare_paired(old_cost.self_ms_samples, new_cost.self_ms_samples, budgets)
            inclusive_delta = compare_paired(
                old_cost.inclusive_ms_samples, new_cost.inclusive_ms_samples, budgets
            )
        else:
            self_delta, inclusive_delta = _unpaired(old_cost, new_cost, budgets, scale)
        if old is None:
            status = "new"
        elif new is None:
            status = "removed"
        else:
            status = self_delta.verdict
        changes.append(
            DependencyChange(
                name=name,
                kind=new_cost.kind if new else old_cost.kind,
                status=status,
                self_ms=self_delta,
                inclusive_ms=inclusive_delta,
                version_before=old.version if old else None,
                version_after=new.version if new else None,
                unzipped_bytes_before=old_cost.unzipped_bytes,
                unzipped_bytes_after=new_cost.unzipped_bytes,
                zipped_bytes_before=old_cost.zipped_bytes,
                zipped_bytes_after=new_cost.zipped_bytes,
                modules_before=old_cost.modules,
                modules_after=new_cost.modules,
            )
        )
    return tuple(changes)


def with_causes(
    changes: tuple[DependencyChange, ...], imports: Sequence[ImportTreeNode]
) -> tuple[DependencyChange, ...]:
    """Each new dependency whose every first import came from inside another new one that is
    itself a finding gets that one (the outermost, along a chain) as ``pulled_in_by``."""
    finding = {c.name for c in changes if c.status == "new" and c.inclusive_ms.verdict == "grew"}
    new = {c.name for c in changes if c.status == "new"}
    entered_from: dict[str, dict[str | None, None]] = defaultdict(dict)  # ordered sets

    def walk(node: ImportTreeNode, owner: str | None) -> None:
        if node.dependency != owner:
            entered_from[node.dependency][owner] = None
        # The standard library is only the way through (importlib, pkgutil): not an owner.
        inner = owner if node.dependency == STDLIB else node.dependency
        for child in node.children:
            walk(child, inner)

    for root in imports:
        walk(root, None)
    direct = {
        name: next(iter(owners))
        for name, owners in entered_from.items()
        if name in new and owners and all(o in new and o != name for o in owners)
    }
    causes = {}
    for name, cause in direct.items():
        seen = {name}
        while cause in direct and cause not in seen:  # pandas ← numpy ← ...: the outermost
            seen.add(cause)
            cause = direct[cause]
        if cause in finding and cause != name:
            causes[name] = cause
    return tuple(
        replace(c, pulled_in_by=causes[c.name]) if c.name in causes else c for c in changes
    )


def _unpaired(
    old: DependencyCost, new: DependencyCost, budgets: Budgets, scale: float
) -> tuple[Delta, Delta]:
    self_delta = compare(
        old.self_ms, new.self_ms, old.self_ms_samples, new.self_ms_samples, budgets, scale
    )
    inclusive_delta = compare(
        old.inclusive_ms,
        new.inclusive_ms,
        old.inclusive_ms_samples,
        new.inclusive_ms_samples,
        budgets,
        scale,
    )
    return self_delta, inclusive_delta
