"""Audit every chosen function of a project, each against its own budgets and baseline."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coldprof.audit.core import audit
from coldprof.errors import EXIT_FINDINGS, EXIT_OK, ColdprofError, FunctionInitError
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.progress import NoProgress, Progress
from coldprof.project import Project, select_functions
from coldprof.results.audit import AuditResult, Budgets
from coldprof.results.models import SCHEMA_VERSION, AnalyzeResult


@dataclass(frozen=True)
class FunctionAudit:
    """One function's audit, or why there is none."""

    logical_id: str
    audit: AuditResult | None
    exit_code: int = EXIT_OK
    error: str | None = None
    hint: str | None = None
    function_output: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "logical_id": self.logical_id,
            "audit": self.audit.to_dict() if self.audit is not None else None,
            "exit_code": self.exit_code,
        }
        if self.error:
            data["error"] = self.error
        if self.hint:
            data["hint"] = self.hint
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionAudit:
        audited = data.get("audit")
        return cls(
            logical_id=str(data.get("logical_id", "")),
            audit=AuditResult.from_dict(audited) if audited else None,
            exit_code=int(data.get("exit_code", EXIT_OK)),
            error=data.get("error"),
            hint=data.get("hint"),
        )


@dataclass(frozen=True)
class ProjectAuditResult:
    """`coldprof audit PROJECT`: one audit per function; the exit code is the worst of theirs."""

    template: str
    source_format: str
    functions: tuple[FunctionAudit, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    kind = "project_audit"

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def exit_code(self) -> int:
        return max((f.exit_code for f in self.functions), default=EXIT_OK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "ok": self.ok,
            "template": self.template,
            "source_format": self.source_format,
            "functions": [f.to_dict() for f in self.functions],
            "skipped": [{"logical_id": i, "reason": r} for i, r in self.skipped],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectAuditResult:
        return cls(
            template=str(data.get("template", "")),
            source_format=str(data.get("source_format", "")),
            functions=tuple(FunctionAudit.from_dict(f) for f in data.get("functions", ())),
            skipped=tuple(
                (str(s.get("logical_id", "")), str(s.get("reason", "")))
                for s in data.get("skipped", ())
            ),
            notes=tuple(data.get("notes", ())),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )

    def analyzed(self) -> dict[str, AnalyzeResult]:
        """Each audited function's run, by logical id (what --update-baseline keeps)."""
        return {f.logical_id: f.audit.result for f in self.functions if f.audit is not None}


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
    progress = progress or NoProgress()
    audits = [
        _one(f.logical_id, request, policy_for(f.logical_id), progress, baseline_path, config_path)
        for f in select_functions(project, function_ids)
    ]
    skipped = tuple((s.logical_id, s.reason) for s in project.skipped) if not function_ids else ()
    return ProjectAuditResult(str(project.template), project.source_format, tuple(audits), skipped)


def _one(
    logical_id: str,
    request: AnalyzeRequest,
    policy: FunctionPolicy,
    progress: Progress,
    baseline_path: str | None,
    config_path: str | None,
) -> FunctionAudit:
    try:
        result = analyze(replace(request, function=logical_id), progress)
    except FunctionInitError as e:
        return FunctionAudit(logical_id, None, e.exit_code, e.message, e.hint, e.function_output)
    except ColdprofError as e:
        return FunctionAudit(logical_id, None, e.exit_code, e.message, e.hint)
    audited = audit(
        result,
        policy.budgets,
        policy.baseline,
        baseline_path=baseline_path if policy.baseline is not None else None,
        config_path=config_path,
    )
    if policy.fail_on_deferrable_ms is not None:
        from coldprof.audit.deferrable import deferrable_audit_findings

        deferrable = deferrable_audit_findings(result, policy.fail_on_deferrable_ms)
        audited = replace(audited, findings=(*audited.findings, *deferrable))
    return FunctionAudit(logical_id, audited, EXIT_OK if audited.ok else EXIT_FINDINGS)
