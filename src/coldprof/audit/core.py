"""Pure: an analyze result against budgets and a baseline → findings that name the culprit."""

from __future__ import annotations

from dataclasses import replace

from coldprof.audit.baseline import check_comparable, dependency_changes, with_causes
from coldprof.audit.budgets import budget_findings, budgets_set
from coldprof.audit.findings import improvement_notes, regression_findings
from coldprof.audit.handler import runtime_only
from coldprof.audit.noise import compare, compare_paired, machine_drift
from coldprof.audit.text import ms
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import AuditResult, Budgets, DependencyChange


def audit(
    result: AnalyzeResult,
    budgets: Budgets,
    baseline: AnalyzeResult | None = None,
    baseline_path: str | None = None,
    config_path: str | None = None,
    base_ref: str | None = None,
    base_commit: str | None = None,
) -> AuditResult:
    """Hold ``result`` to ``budgets`` and, when given, compare it with ``baseline``.

    With ``base_ref`` the baseline is the function at that git ref, measured in pairs with this
    run (see compare_paired); without, a saved file from another session, corrected for the
    machine's drift (see machine_drift).
    """
    paired = base_ref is not None
    findings = budget_findings(result, budgets)
    notes: list[str] = []
    init = None
    drift = None
    changes: tuple[DependencyChange, ...] = ()
    if baseline is not None:
        check_comparable(baseline, result.python, result.platform, result.architecture)
        if baseline.handler and result.handler and baseline.handler != result.handler:
            notes.append(
                f"the baseline is of handler {baseline.handler}, this run of {result.handler}"
            )
        if baseline.python != result.python:
            notes.append(f"the baseline used Python {baseline.python}, this run {result.python}")
        if paired and baseline.runs != result.runs:
            raise ValueError("paired runs need as many cold starts on both sides")
        drift = None if paired else machine_drift(baseline, result)
        scale = drift.factor if drift else 1.0
        if drift is not None:
            pace = (
                f"{drift.factor:.2f}× as slowly as for the baseline; growth up to that pace is "
                "not counted as a regression"
                if drift.factor > 1
                else f"{1 / drift.factor:.2f}× as fast as for the baseline; improvements up to "
                "that pace are not counted"
            )
            notes.append(
                f"this machine ran {pace} (the runtime's own imports, the same code in both runs, "
                f"{drift.control}: {ms(drift.before_ms)} → {ms(drift.after_ms)})"
            )
        if paired:
            init = compare_paired(baseline.init_ms.samples, result.init_ms.samples, budgets)
        else:
            init = compare(
                baseline.init_ms.median,
                result.init_ms.median,
                baseline.init_ms.samples,
                result.init_ms.samples,
                budgets,
                scale,
            )
        changes = with_causes(
            dependency_changes(baseline, result, budgets, scale, paired), result.imports
        )
        # The runtime's own imports are nobody's change: they never name a culprit.
        runtime_own = runtime_only(result)
        culprits = [c for c in changes if c.name not in runtime_own]
        findings += regression_findings(baseline, result, budgets, init, culprits)
        notes += improvement_notes(init, culprits)
        if not init.noise_judged:
            notes.append("the baseline has fewer than 2 runs: changes were judged by the ms floor")
        baseline = replace(baseline, imports=())
    if not budgets_set(budgets) and baseline is None:
        notes.append("no budgets and no baseline: nothing to hold this run to")
    return AuditResult(
        result=result,
        budgets=budgets,
        findings=tuple(findings),
        notes=tuple(notes),
        baseline=baseline,
        baseline_path=baseline_path,
        init=init,
        changes=changes,
        config_path=config_path,
        drift=drift,
        base_ref=base_ref,
        base_commit=base_commit,
    )
