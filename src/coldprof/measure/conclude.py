"""A side's counted cold starts → the result: bytecode penalty, estimate, lines, the advisor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from coldprof import stats
from coldprof.advisor.run import advise
from coldprof.build.cache import cache_root
from coldprof.estimate import model as estimate
from coldprof.measure import function_lines
from coldprof.measure.aggregate import dependency_runs
from coldprof.measure.bytecode import bytecode_penalty
from coldprof.measure.coldstart import ColdStart, traced_init_limit
from coldprof.measure.distributions import Attribution
from coldprof.measure.filesystem import measured_filesystem, relocate
from coldprof.measure.result import result_of
from coldprof.measure.series import discard_reason
from coldprof.measure.side import Side
from coldprof.progress import NoProgress, Progress
from coldprof.results.analyze import AnalyzeResult, FirstInvocation, InvocationImport
from coldprof.runner import lambda_fs
from coldprof.runner.spec import EnvironmentSpec


def conclude(
    side: Side, progress: Progress | None = None, stopped_by: str | None = None
) -> AnalyzeResult:
    """The measured cold starts → the result: bytecode penalty, costs, tree, the advisor.

    The bytecode runs use the side's filesystem, which is closed afterwards."""
    progress = progress or NoProgress()
    prepared, request, starts = side.prepared, side.request, side.starts
    penalty = None
    try:
        if request.bytecode_runs > 0:
            progress.start("bytecode penalty", request.bytecode_runs)
            penalty = bytecode_penalty(
                side.measured, prepared.spec, starts, prepared.attribution, request, progress
            )
            progress.finish()
    finally:
        side.close()
    result = result_of(prepared, starts, penalty, None)
    result = replace(
        prepared.run_info.apply(result, starts),
        discarded_runs=len(side.discarded),
        discarded_reason=discard_reason(side.discarded, starts),
        runs_stopped_by=stopped_by,
    )
    result = estimate.attach(
        result,
        [s.process for s in starts],
        [sum(1 for row in s.trace.rows if not row.cached) for s in starts],
        side.references,
        request.lambda_architecture or request.architecture or "x86_64",
        request.package_type,
        request.cache_dir or cache_root(),
    )
    attribution = prepared.attribution
    if request.events:
        first = first_invocation(
            str(request.events[0]), starts, attribution, result.init_ms.median, side.event_error
        )
        result = replace(result, first_invocation=first)
    if prepared.line_files:
        result = lines_of(result, prepared.spec, attribution, prepared.line_files, progress)
    if request.events or request.verify:
        # The advisor maps the code files its traced start ran back to the package: it runs
        # on the folders as they are (host paths), never writing to them.
        result = advise(
            result, prepared.spec, prepared.attribution, prepared.payloads, request, progress
        )
    if prepared.cache_note:
        warnings = (*result.package.warnings, prepared.cache_note)
        result = replace(result, package=replace(result.package, warnings=warnings))
    return result


def first_invocation(
    event: str,
    starts: Sequence[ColdStart],
    attribution: Attribution,
    init_ms: float,
    error: str | None = None,
) -> FirstInvocation:
    """Medians over the timed runs of the cold and the warm invocation, what the cold one
    imported, and the cold penalty: init + first − warm."""
    timed = [s.events for s in starts if s.events is not None]
    ok = [e for e in timed if e.error is None and e.warm_ms is not None]
    if error is not None or not ok:
        error = error or next((e.error for e in timed if e.error), "the event was not run")
        return FirstInvocation(event, None, None, (), None, error=error)
    first = stats.median(e.first_ms for e in ok)
    warm = stats.median(e.warm_ms for e in ok if e.warm_ms is not None)
    per_run = [dependency_runs(e.imports, attribution)[1] for e in ok]
    names = dict.fromkeys(name for run in per_run for name in run)
    imports = [
        InvocationImport(name, round(stats.median(run.get(name, 0.0) for run in per_run), 3))
        for name in names
    ]
    imports.sort(key=lambda i: (-i.inclusive_ms, i.name))
    return FirstInvocation(
        event=event,
        duration_ms=round(first, 3),
        warm_duration_ms=round(warm, 3),
        imports=tuple(i for i in imports if i.inclusive_ms > 0),
        cold_penalty_ms=round(init_ms + first - warm, 3),
        duration_ms_samples=tuple(round(e.first_ms, 3) for e in ok),
        warm_duration_ms_samples=tuple(round(e.warm_ms or 0.0, 3) for e in ok),
    )


def lines_of(
    result: AnalyzeResult,
    spec: EnvironmentSpec,
    attribution: Attribution,
    files: Mapping[str, str],
    progress: Progress,
) -> AnalyzeResult:
    """One line-traced cold start after the timed ones → function_lines, or why there are none.

    It runs on a copy of the package and layers, as the copy filesystem does: whatever the
    init writes, it never reaches the user's folders (paths are mapped there and back)."""
    progress.start("line-by-line traced cold start", 1)
    with measured_filesystem(spec, lambda_fs.COPY) as copied:
        moves = [(spec.task_root, copied.task_root), *zip(spec.layers, copied.layers, strict=True)]
        traced_files = {relocate(f, moves): owner for f, owner in files.items()}
        traced = replace(copied, init_limit_s=traced_init_limit(spec))
        init, trace = function_lines.traced_cold_start(traced, traced_files)
        progress.advance()
        progress.finish()
        if not init.ok or trace is None:
            why = init.describe if not init.ok else "it left no record"
            return replace(result, function_lines_note=f"the line-traced cold start failed: {why}")
        sites = [
            *attribution.layer_dirs,
            attribution.runtime_dir,
            *{d.site for d in attribution.distributions},
        ]
        lines = function_lines.function_lines(
            trace,
            result.imports,
            traced_files,
            copied.task_root,
            [Path(relocate(str(site), moves)) for site in sites],
        )
    return replace(result, function_lines=tuple(lines), function_lines_tracer=trace.tracer)
