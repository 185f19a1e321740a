"""Audit every chosen function of a project, each against its own budgets and baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coldprof.audit.judge import judge
from coldprof.errors import EXIT_FINDINGS, EXIT_OK
from coldprof.measure.analyze import AnalyzeRequest
from coldprof.measure.project import analyze_one, each_function
from coldprof.progress import NoProgress, Progress
from coldprof.project import Project
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import Budgets
from coldprof.results.project import FunctionAudit, FunctionOutcome, ProjectAuditResult


@dataclass(frozen=True)
class FunctionPolicy:
    """What one function is held to: its budgets, its baseline, and the advisor threshold."""

    budgets: Budgets
    baseline: AnalyzeResult | None = None
    fail_on_deferrable_ms: float | None = None


def audit_project(
    project: Project,
    request: AnalyzeRequest,
    policy_for: Callable[[str], FunctionPolicy],
    function_ids: Sequence[str] = (),
    progress: Progress | None = None,
    baseline_path: str | None = None,
    config_path: str | None = None,
) -> ProjectAuditResult:
    """Analyze and audit each chosen function in turn; one that fails does not stop the rest."""
    shown = progress or NoProgress()

    def one(logical_id: str) -> FunctionAudit:
        policy = policy_for(logical_id)
        return _audit_one(logical_id, request, policy, shown, baseline_path, config_path)

    audits, skipped = each_function(project, function_ids, one)
    return ProjectAuditResult(str(project.template), project.source_format, audits, skipped)


def _audit_one(
    logical_id: str,
    request: AnalyzeRequest,
    policy: FunctionPolicy,
    progress: Progress,
    baseline_path: str | None,
    config_path: str | None,
) -> FunctionAudit:
    analyzed = analyze_one(logical_id, request, progress)
    result = analyzed.result
    if result is None or analyzed.exit_code != EXIT_OK:  # no audit of what failed to run
        return FunctionOutcome(
            logical_id,
            None,
            analyzed.exit_code,
            analyzed.error,
            analyzed.hint,
            analyzed.function_output,
        )
    audited = judge(
        result,
        policy.budgets,
        policy.baseline,
        policy.fail_on_deferrable_ms,
        baseline_path=baseline_path if policy.baseline is not None else None,
        config_path=config_path,
    )
    return FunctionOutcome(logical_id, audited, EXIT_OK if audited.ok else EXIT_FINDINGS)
