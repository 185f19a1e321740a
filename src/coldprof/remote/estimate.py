"""`remote --local`: beside the emulator's Init Duration (this machine's), Lambda's estimate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from coldprof.errors import ColdprofError
from coldprof.estimate.model import estimate_of
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.progress import NoProgress, Progress
from coldprof.remote.request import RemoteRequest
from coldprof.results.remote import FunctionResult, RemoteResult

# Enough for the medians the model reads; the sweep itself has already taken its time.
ESTIMATE_RUNS = 3


def _with_estimate(
    function: FunctionResult, request: RemoteRequest, progress: Progress
) -> FunctionResult:
    if not function.source_path or function.error:
        return function
    package_type = "image" if function.package_type.lower() == "image" else "zip"
    analysis_request = AnalyzeRequest(
        path=Path(function.source_path),
        handler=request.handler,
        runs=ESTIMATE_RUNS,
        bytecode_runs=0,
        lambda_architecture=function.architecture,
        package_type=package_type,
    )
    try:
        analysis = analyze(analysis_request, progress)
    except ColdprofError:
        return function  # the sweep has reported the function's own failure already
    found = estimate_of(analysis)
    return replace(function, lambda_estimate=found.to_dict() if found else None)


def with_estimates(
    result: RemoteResult, request: RemoteRequest, progress: Progress | None = None
) -> RemoteResult:
    """The result with each deployed directory's Lambda estimate, from a short analyze."""
    progress = progress or NoProgress()
    functions = tuple(_with_estimate(f, request, progress) for f in result.functions)
    return replace(result, functions=functions)
