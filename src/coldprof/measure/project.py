"""Analyze every chosen function of a project, one after another → one project result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from coldprof.errors import ColdprofError, FunctionInitError
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.progress import NoProgress, Progress
from coldprof.project import Project, select_functions
from coldprof.results.project import FunctionOutcome, ProjectFunction, ProjectResult, R


def analyze_one(logical_id: str, request: AnalyzeRequest, progress: Progress) -> ProjectFunction:
    """One function's analysis; a failed init keeps what was gathered, a failed build why."""
    try:
        result = analyze(replace(request, function=logical_id), progress)
    except FunctionInitError as e:
        return FunctionOutcome(
            logical_id, e.partial, e.exit_code, e.message, e.hint, e.function_output
        )
    except ColdprofError as e:
        return FunctionOutcome(logical_id, None, e.exit_code, e.message, e.hint)
    return FunctionOutcome(logical_id, result)


def each_function(
    project: Project, function_ids: Sequence[str], one: Callable[[str], FunctionOutcome[R]]
) -> tuple[tuple[FunctionOutcome[R], ...], tuple[tuple[str, str], ...]]:
    """``one`` on each chosen function in turn (one that fails does not stop the others), and
    the functions skipped, with why, when none were chosen by name."""
    outcomes = tuple(one(spec.logical_id) for spec in select_functions(project, function_ids))
    skipped = tuple((s.logical_id, s.reason) for s in project.skipped) if not function_ids else ()
    return outcomes, skipped


def analyze_project(
    project: Project,
    request: AnalyzeRequest,
    function_ids: Sequence[str] = (),
    progress: Progress | None = None,
) -> ProjectResult:
    """Each chosen function in turn; one that fails does not stop the others."""
    shown = progress or NoProgress()
    analyzed, skipped = each_function(
        project, function_ids, lambda logical_id: analyze_one(logical_id, request, shown)
    )
    return ProjectResult(str(project.template), project.source_format, analyzed, skipped)
