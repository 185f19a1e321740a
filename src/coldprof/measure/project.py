"""Analyze every chosen function of a project, one after another → one project result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coldprof.errors import EXIT_OK, ColdprofError, FunctionInitError
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.progress import NoProgress, Progress
from coldprof.project import Project, select_functions
from coldprof.results.models import SCHEMA_VERSION, AnalyzeResult


@dataclass(frozen=True)
class ProjectFunction:
    """One function's analysis, or why there is none (its init or its build failed)."""

    logical_id: str
    result: AnalyzeResult | None
    exit_code: int = EXIT_OK
    error: str | None = None
    hint: str | None = None
    function_output: str = ""  # what the function printed when its init failed

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "logical_id": self.logical_id,
            "result": self.result.to_dict() if self.result is not None else None,
            "exit_code": self.exit_code,
        }
        if self.error:
            data["error"] = self.error
        if self.hint:
            data["hint"] = self.hint
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectFunction:
        result = data.get("result")
        return cls(
            logical_id=str(data.get("logical_id", "")),
            result=AnalyzeResult.from_dict(result) if result else None,
            exit_code=int(data.get("exit_code", EXIT_OK)),
            error=data.get("error"),
            hint=data.get("hint"),
        )


@dataclass(frozen=True)
class ProjectResult:
    """`coldprof analyze PROJECT` over several functions."""

    template: str
    source_format: str
    functions: tuple[ProjectFunction, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (logical id, why) of functions not analyzed
    schema_version: int = SCHEMA_VERSION

    kind = "project"

    @property
    def exit_code(self) -> int:
        """The worst of the functions'."""
        return max((f.exit_code for f in self.functions), default=EXIT_OK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "template": self.template,
            "source_format": self.source_format,
            "functions": [f.to_dict() for f in self.functions],
            "skipped": [{"logical_id": i, "reason": r} for i, r in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectResult:
        return cls(
            template=str(data.get("template", "")),
            source_format=str(data.get("source_format", "")),
            functions=tuple(ProjectFunction.from_dict(f) for f in data.get("functions", ())),
            skipped=tuple(
                (str(s.get("logical_id", "")), str(s.get("reason", "")))
                for s in data.get("skipped", ())
            ),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


def _one(logical_id: str, request: AnalyzeRequest, progress: Progress) -> ProjectFunction:
    try:
        result = analyze(replace(request, function=logical_id), progress)
    except FunctionInitError as e:
        partial = e.partial if isinstance(e.partial, AnalyzeResult) else None
        return ProjectFunction(
            logical_id, partial, e.exit_code, e.message, e.hint, e.function_output
        )
    except ColdprofError as e:
        return ProjectFunction(logical_id, None, e.exit_code, e.message, e.hint)
    return ProjectFunction(logical_id, result)


def analyze_project(
    project: Project,
    request: AnalyzeRequest,
    function_ids: Sequence[str] = (),
    progress: Progress | None = None,
) -> ProjectResult:
    """Each chosen function in turn; one that fails does not stop the others."""
    progress = progress or NoProgress()
    chosen = select_functions(project, function_ids)
    analyzed = [_one(spec.logical_id, request, progress) for spec in chosen]
    skipped = tuple((s.logical_id, s.reason) for s in project.skipped) if not function_ids else ()
    return ProjectResult(
        template=str(project.template),
        source_format=project.source_format,
        functions=tuple(analyzed),
        skipped=skipped,
    )
