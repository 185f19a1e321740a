"""An analyze result judged for a report: the audit, deferrable imports, and where culprits are."""

from __future__ import annotations

from dataclasses import replace

from coldprof.audit.core import audit
from coldprof.audit.deferrable import deferrable_audit_findings
from coldprof.measure.importsite import with_locations
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import AuditResult, Budgets


def judge(
    result: AnalyzeResult,
    budgets: Budgets,
    baseline: AnalyzeResult | None = None,
    fail_on_deferrable_ms: float | None = None,
    baseline_path: str | None = None,
    config_path: str | None = None,
    base_ref: str | None = None,
    base_commit: str | None = None,
) -> AuditResult:
    """``audit`` plus, when asked, the deferrable imports over ``fail_on_deferrable_ms`` as
    findings, each finding then pointing at the line of the function that imports its culprit."""
    audited = audit(
        result,
        budgets,
        baseline,
        baseline_path=baseline_path,
        config_path=config_path,
        base_ref=base_ref,
        base_commit=base_commit,
    )
    findings = list(audited.findings)
    if fail_on_deferrable_ms is not None:
        findings.extend(deferrable_audit_findings(result, fail_on_deferrable_ms))
    return replace(audited, findings=with_locations(findings, result))
