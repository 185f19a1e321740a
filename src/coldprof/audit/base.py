"""audit --base: the function and its version at a git ref, cold starts interleaved in pairs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from coldprof import stats
from coldprof.build.gitref import function_at
from coldprof.errors import FunctionInitError
from coldprof.measure.analyze import analyze
from coldprof.measure.conclude import conclude
from coldprof.measure.prepare import prepare
from coldprof.measure.request import AnalyzeRequest
from coldprof.measure.runcount import done_after
from coldprof.measure.series import alternate
from coldprof.measure.side import Side
from coldprof.progress import NoProgress, Progress
from coldprof.results.analyze import AnalyzeResult


@dataclass(frozen=True)
class PairedRun:
    """Both sides of an audit --base; the base is None when the function is new since REF."""

    head: AnalyzeResult
    base: AnalyzeResult | None
    ref: str
    commit: str | None
    stopped_by: str | None = None


def _paired_precision(base: list[float], head: list[float]) -> float | None:
    """How far the interval of the median paired difference reaches, relative to the base's
    median init: the figure --runs auto waits on when there are two sides."""
    centre = stats.median(base)
    if centre == 0:
        return None
    differences = stats.paired_differences(base, head)
    middle = stats.median(differences)
    low, high = stats.median_ci(differences)
    return max(middle - low, high - middle) / abs(centre)


def _done(base: list[float], head: list[float], request: AnalyzeRequest) -> tuple[bool, str | None]:
    return done_after(
        len(head),
        lambda: _paired_precision(base, head),
        request,
        what="paired difference",
        of=" of the base's init",
        unit="pairs",
    )


def _base_failed(error: FunctionInitError, ref: str) -> FunctionInitError:
    return FunctionInitError(
        f"the function as it was at {ref} failed at init: {error.message.split(': ', 1)[-1]}",
        function_output=error.function_output,
        partial=None,
    )


def measure_against_base(
    request: AnalyzeRequest, ref: str, progress: Progress | None = None
) -> PairedRun:
    """Build the function and its version at ``ref``, then run their cold starts in pairs.

    Within a pair the two sides run back to back, and which goes first alternates (AB, BA,
    AB...), so neither always follows the other. A cold start that only warmed the page cache
    is run again on its side, keeping the pairs aligned. The base side skips the bytecode
    penalty, the line trace and the advisor: they describe the head.
    """
    progress = progress or NoProgress()
    with function_at(request.path, ref) as checkout:
        if checkout is None:
            return PairedRun(analyze(request, progress), None, ref, None)
        base_request = replace(
            request,
            path=checkout.path,
            bytecode_runs=0,
            events=(),
            verify=False,
            lines=False,
            # Stable across audits (the checkout's folder is new each time), apart from the
            # head's build, and per function of a project.
            build_variant=f"{request.path.resolve()}@base:{request.function or ''}",
        )
        # Each side holds its filesystem (Lambda's, or read-only copies) open across the pairs.
        with (
            Side(prepare(request, progress)) as head_side,
            Side(prepare(base_request, progress)) as base_side,
        ):
            total = request.max_runs if request.auto_runs else request.runs
            handler = head_side.prepared.source.handler
            progress.start(f"cold starts of {handler} and at {ref}", total)
            stopped_by = None
            current = head_side
            try:
                while True:
                    for current in alternate(base_side, head_side, len(head_side.starts)):
                        current.measure_one()
                    progress.advance()
                    done, stopped_by = _done(
                        [s.init_ms for s in base_side.starts],
                        [s.init_ms for s in head_side.starts],
                        request,
                    )
                    if done:
                        break
            except FunctionInitError as e:
                raise (_base_failed(e, ref) if current is base_side else e) from None
            finally:
                progress.finish()
            base = conclude(base_side, progress)
            # The base was measured from a temporary folder: name the ref, not that folder.
            base = replace(base, function_path=f"{request.path} at {ref}", task_root="")
            head = conclude(head_side, progress, stopped_by)
        return PairedRun(head, base, ref, checkout.commit, stopped_by)
