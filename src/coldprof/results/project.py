"""The project results: one analysis or audit per function of a template, and their JSON form."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from coldprof.errors import EXIT_OK
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import AuditResult
from coldprof.results.serial import JSONObject, Record, fields_dict

PROJECT_SCHEMA_VERSION = 1  # of the project (analyze) result's JSON
PROJECT_AUDIT_SCHEMA_VERSION = 1  # of the project audit result's JSON

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class FunctionOutcome(Generic[R]):
    """One function's analysis or audit, or why there is none (its init or its build failed)."""

    logical_id: str
    result: R | None
    exit_code: int = EXIT_OK
    error: str | None = None
    hint: str | None = None
    function_output: str = ""  # what the function printed when its init failed (not saved)

    def to_dict(self, key: str) -> JSONObject:
        """Saved with the result under ``key`` ("result" in a project, "audit" in its audit)."""
        result = self.result.to_dict() if self.result is not None else None
        data = fields_dict(self, ("logical_id", key, "exit_code"), **{key: result})
        if self.error:
            data["error"] = self.error
        if self.hint:
            data["hint"] = self.hint
        return data

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], key: str, read: Callable[[Mapping[str, Any]], R]
    ) -> FunctionOutcome[R]:
        result = data.get(key)
        return cls(
            logical_id=str(data.get("logical_id", "")),
            result=read(result) if result else None,
            exit_code=int(data.get("exit_code", EXIT_OK)),
            error=data.get("error"),
            hint=data.get("hint"),
        )


ProjectFunction = FunctionOutcome[AnalyzeResult]
FunctionAudit = FunctionOutcome[AuditResult]


def _skipped(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(s.get("logical_id", "")), str(s.get("reason", ""))) for s in data.get("skipped", ())
    )


def _worst(functions: Sequence[FunctionOutcome[R]]) -> int:
    return max((f.exit_code for f in functions), default=EXIT_OK)


@dataclass(frozen=True)
class ProjectResult:
    """`coldprof analyze PROJECT` over several functions."""

    template: str
    source_format: str
    functions: tuple[ProjectFunction, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (logical id, why) of functions not analyzed
    schema_version: int = PROJECT_SCHEMA_VERSION

    kind = "project"

    @property
    def exit_code(self) -> int:
        """The worst of the functions'."""
        return _worst(self.functions)

    def to_dict(self) -> JSONObject:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "template": self.template,
            "source_format": self.source_format,
            "functions": [f.to_dict("result") for f in self.functions],
            "skipped": [{"logical_id": i, "reason": r} for i, r in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectResult:
        return cls(
            template=str(data.get("template", "")),
            source_format=str(data.get("source_format", "")),
            functions=tuple(
                FunctionOutcome.from_dict(f, "result", AnalyzeResult.from_dict)
                for f in data.get("functions", ())
            ),
            skipped=_skipped(data),
            schema_version=int(data.get("schema_version", PROJECT_SCHEMA_VERSION)),
        )


@dataclass(frozen=True)
class ProjectAuditResult:
    """`coldprof audit PROJECT`: one audit per function; the exit code is the worst of theirs."""

    template: str
    source_format: str
    functions: tuple[FunctionAudit, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    schema_version: int = PROJECT_AUDIT_SCHEMA_VERSION

    kind = "project_audit"

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def exit_code(self) -> int:
        return _worst(self.functions)

    def to_dict(self) -> JSONObject:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "ok": self.ok,
            "template": self.template,
            "source_format": self.source_format,
            "functions": [f.to_dict("audit") for f in self.functions],
            "skipped": [{"logical_id": i, "reason": r} for i, r in self.skipped],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectAuditResult:
        return cls(
            template=str(data.get("template", "")),
            source_format=str(data.get("source_format", "")),
            functions=tuple(
                FunctionOutcome.from_dict(f, "audit", AuditResult.from_dict)
                for f in data.get("functions", ())
            ),
            skipped=_skipped(data),
            notes=tuple(data.get("notes", ())),
            schema_version=int(data.get("schema_version", PROJECT_AUDIT_SCHEMA_VERSION)),
        )

    def analyzed(self) -> dict[str, AnalyzeResult]:
        """Each audited function's run, by logical id (what --update-baseline keeps)."""
        return {f.logical_id: f.result.result for f in self.functions if f.result is not None}
