"""analyze: N cold starts of a handler in fresh interpreters → init times and per-dependency costs.

The stages, each its own module: request → prepare (build, spec) → side (the measuring loop in
the function's filesystem) → conclude (bytecode, estimate, lines, advisor) → result.
"""

from __future__ import annotations

from coldprof.build.handler import resolve_function
from coldprof.estimate import model as estimate
from coldprof.measure.conclude import conclude
from coldprof.measure.prepare import prepare
from coldprof.measure.request import AnalyzeRequest
from coldprof.measure.runcount import run_count_done
from coldprof.measure.side import Side
from coldprof.measure.spec import interpreter_for
from coldprof.progress import NoProgress, Progress
from coldprof.results.analyze import AnalyzeResult

__all__ = ["AnalyzeRequest", "analyze", "planned_python"]


def analyze(request: AnalyzeRequest, progress: Progress | None = None) -> AnalyzeResult:
    """Run ``request.runs`` cold starts after a warm-up and attribute their import time."""
    progress = progress or NoProgress()
    estimate.check_target(
        request.lambda_architecture or request.architecture or "x86_64", request.package_type
    )
    prepared = prepare(request, progress)
    total = request.max_runs if request.auto_runs else request.runs
    progress.start(f"cold starts of {prepared.source.handler}", total)

    # One at a time: two cold starts at once on a small machine slow each other down (measured
    # here: numpy's own import time +45 % with two at once on two cores).
    with Side(prepared) as side:
        stopped_by = None
        try:
            while True:
                side.measure_one()
                progress.advance()
                done, stopped_by = run_count_done([s.init_ms for s in side.starts], request)
                if done:
                    break
        finally:
            progress.finish()
        return conclude(side, progress, stopped_by)


def planned_python(request: AnalyzeRequest) -> str:
    """The Python version `analyze(request)` will run on: --python, else the Runtime."""
    source = resolve_function(request.path, request.handler, request.function, request.parameters)
    return interpreter_for(source, request.python).version
