"""The advisor's runs: a traced cold start with the events, and the verification of a rewrite."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coldprof import stats
from coldprof.advisor import rewrite
from coldprof.advisor.plan import plan_deferrals_for, rewrite_plan
from coldprof.advisor.report import advise as advise_from
from coldprof.advisor.usage import parse_usage
from coldprof.measure.aggregate import subtrees_ms
from coldprof.measure.coldstart import function_output, traced_init_limit
from coldprof.measure.distributions import Attribution
from coldprof.measure.request import AnalyzeRequest
from coldprof.measure.series import Series, alternate
from coldprof.progress import Progress
from coldprof.results.advisor import AdvisorReport, EventRun, Verification
from coldprof.results.analyze import AnalyzeResult
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.outcomes import InitOutcome
from coldprof.runner.spec import EnvironmentSpec


@dataclass(frozen=True)
class TracedStart:
    """The advisor's cold start: init, then each event, with the usage trace they left."""

    init: InitOutcome
    events: tuple[EventRun, ...]
    usage_text: str
    output: str  # what the function printed during init


def traced_cold_start(spec: EnvironmentSpec, events: Sequence[tuple[str, bytes]]) -> TracedStart:
    """Init under the usage tracer, then invoke the handler with each event, in order."""
    with tempfile.TemporaryDirectory(prefix="coldprof-trace-") as scratch:
        trace_file = Path(scratch) / "usage.json"
        traced = replace(spec, trace_file=trace_file, init_limit_s=traced_init_limit(spec))
        environment = ExecutionEnvironment(traced)
        runs = []
        try:
            init = environment.start()
            for name, payload in events:
                if not init.ok or not environment.alive:
                    runs.append(EventRun(name, ok=False, status="not run"))
                    continue
                outcome = environment.invoke(payload)
                runs.append(
                    EventRun.of(
                        name,
                        outcome.ok,
                        outcome.status,
                        outcome.duration_ms,
                        outcome.payload,
                        outcome.log,
                    )
                )
        finally:
            environment.kill()
        usage = trace_file.read_text(errors="replace") if trace_file.is_file() else ""
    return TracedStart(init, tuple(runs), usage, function_output(environment))


def advise(
    result: AnalyzeResult,
    spec: EnvironmentSpec,
    attribution: Attribution,
    payloads: Sequence[bytes],
    request: AnalyzeRequest,
    progress: Progress,
) -> AnalyzeResult:
    """One traced cold start after the measured ones → the advisor's report in extras."""
    events = list(zip([str(p) for p in request.events], payloads, strict=True))
    progress.start(f"traced cold start with {len(events)} event(s)", 1)
    traced = traced_cold_start(spec, events)
    progress.advance()
    progress.finish()
    # A failed traced init ran no invocation: that is no evidence that anything is unused.
    usage = parse_usage(traced.usage_text) if traced.init.ok else None
    report = advise_from(result, usage, traced.events, attribution, spec.task_root)
    if not traced.init.ok:
        report = replace(
            report, notes=(*report.notes, f"the traced init failed: {traced.init.describe}")
        )
    if request.verify:
        verification = verify(result, report, spec, attribution, events, request, progress)
        report = replace(report, verification=verification)
    return replace(result, advisor=report)


def verify(
    result: AnalyzeResult,
    report: AdvisorReport,
    spec: EnvironmentSpec,
    attribution: Attribution,
    events: Sequence[tuple[str, bytes]],
    request: AnalyzeRequest,
    progress: Progress,
) -> Verification:
    """Rewrite a temporary copy with the deferrable imports deferred and measure its init
    against the original's, the same number of runs each, interleaved.

    The copy has the function's own files; installed distributions are symlinked, not copied.
    The user's directory is never written to.
    """
    plan = rewrite_plan(report, result.imports)
    verification = Verification(
        deferred=plan.deferred,
        rewrites=(),
        skipped=plan.skipped,
        predicted_ms=plan.predicted_ms,
        measured_ms=None,
        original_init_ms=result.init_ms.median,
        rewritten_init_ms=None,
        runs=request.runs,
    )
    if report.failed_events:
        return replace(verification, note="not verified: the handler failed on an event")
    if not plan.deferred:
        return replace(verification, note="nothing that can be deferred automatically")
    new_sources, rewrites = {}, []
    for file, sites in plan.by_file.items():
        source = (spec.task_root / file).read_text(encoding="utf-8")
        deferrals = plan_deferrals_for(sites, source)
        is_package = file.endswith("__init__.py")
        new_sources[file] = rewrite.defer_imports(source, sites[0].module, is_package, deferrals)
        rewrites += [
            f"{file}:{d.line} {d.name} → " + (", ".join(f"{f}()" for f in d.functions) or "removed")
            for d in deferrals
            if d.movable
        ]
    verification = replace(verification, rewrites=tuple(rewrites))
    with tempfile.TemporaryDirectory(prefix="coldprof-verify-") as scratch:
        copy_root = rewrite.rewritten_copy(
            spec.task_root,
            Path(scratch) / spec.task_root.name,
            attribution.function_files(),
            new_sources,
        )
        copy_spec = replace(spec, task_root=copy_root)
        # Original and copy alternate (ABBA), so drift on a busy machine hits both alike. A run
        # that only warmed the page cache is run again, as in the main runs.
        progress.start("cold starts of the original and the rewritten copy", 2 * request.runs)
        original_series = Series(spec, warmup=request.warmup)
        copy_series = Series(copy_spec, warmup=request.warmup)
        index = 0
        while len(copy_series.kept) < request.runs:
            for series in alternate(original_series, copy_series, index):
                _, failure = series.measure_one()
                if failure is not None:
                    progress.finish()
                    side = "rewritten copy" if series is copy_series else "original"
                    return replace(
                        verification, note=f"the {side} failed at init: {failure.message}"
                    )
                progress.advance()
            index += 1
        original, rewritten = original_series.kept, copy_series.kept
        progress.finish()
        copy_events = traced_cold_start(copy_spec, events).events if events else ()
    before = stats.median(s.init_ms for s in original)
    after = stats.median(s.init_ms for s in rewritten)
    # The prediction again, from the import times of these same original runs: both sides of
    # the comparison then come from the same minutes of a machine whose load may change.
    deferred = set(plan.deferred)
    predicted = stats.median(subtrees_ms(s.trace, attribution, deferred) for s in original)
    imported = {row.module for s in rewritten for row in s.trace.rows if not row.cached}
    still = sorted(
        {n for n in plan.deferred for m in imported if attribution.dependency_of(m).name == n}
    )
    return replace(
        verification,
        predicted_ms=round(predicted, 3),
        measured_ms=round(before - after, 3),
        original_init_ms=round(before, 3),
        rewritten_init_ms=round(after, 3),
        still_imported=tuple(still),
        behaviour=same_behaviour(report.events, copy_events),
        original_samples=tuple(round(s.init_ms, 3) for s in original),
        rewritten_samples=tuple(round(s.init_ms, 3) for s in rewritten),
    )


def same_behaviour(original: Sequence[EventRun], copy: Sequence[EventRun]) -> str:
    """Whether the rewritten copy answered each event as the original did, in words."""
    if not original:
        return "not checked: no events"
    differences = []
    for before, after in zip(original, copy, strict=False):
        if before.ok != after.ok:
            differences.append(f"{before.event}: {before.describe()} → {after.describe()}")
        elif before.response_digest != after.response_digest:
            differences.append(f"{before.event}: a different response")
    if len(copy) < len(original):
        differences.append("the copy did not handle every event")
    if differences:
        return "DIFFERS: " + "; ".join(differences)
    return f"same responses to {len(original)} event(s)"
