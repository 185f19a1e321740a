"""N cold starts of a handler in fresh interpreters → init times and per-dependency costs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from coldprof import lambda_facts, stats
from coldprof.build.function_tree import check_function_tree
from coldprof.build.package import (
    PYCACHE_SOURCE,
    BuildTarget,
    FunctionSource,
    build_installer,
    cache_root,
    function_files,
    mark_cache_entry,
    prune_cache,
    remove_path,
    resolve_function,
    resolved_versions,
    task_root_for,
    writable_cache,
)
from coldprof.build.runtime_provided import runtime_provided
from coldprof.errors import EnvironmentFailure, FunctionInitError, UsageError
from coldprof.estimate import model as estimate
from coldprof.estimate import speedref
from coldprof.lambda_facts import UNZIPPED_LIMIT_BYTES, ZIPPED_LIMIT_BYTES
from coldprof.measure import function_lines, importtime, invariants
from coldprof.measure.distributions import (
    FUNCTION,
    KIND_FUNCTION,
    UNRESOLVED,
    Attribution,
    DependencyRef,
    Footprint,
    InstalledDistribution,
    SizeCache,
    bytecode_fraction,
    footprint,
    walk_file_paths,
)
from coldprof.progress import NoProgress, Progress
from coldprof.results.models import (
    ADVISOR_KEY,
    AnalyzeResult,
    DeclaredFunction,
    DependencyCost,
    FirstInvocation,
    ImportTreeNode,
    InitFailure,
    InvocationImport,
    PackageSummary,
    SampleStats,
)
from coldprof.runner import interpreter, lambda_fs
from coldprof.runner.environment import (
    INIT_LIMIT_S,
    EnvironmentSpec,
    ExecutionEnvironment,
    InitOutcome,
    default_runtime_client,
    layer_paths,
    runtime_client_label,
    seen_task_root,
)
from coldprof.runner.function_output import readable
from coldprof.runner.procstat import ProcessSample

if TYPE_CHECKING:
    from coldprof.advisor.report import AdvisorReport, EventRun, Verification
    from coldprof.project import FunctionSpec

# A cold start that read more than this from storage, not the page cache, was warming the cache
# and is run again. Measured here on heavy_deps: the first cold start after dropping the caches
# read 49 MB and took 30-60 % longer; every later one read 0 bytes, and in a warm cache the first
# cold start is no slower than the rest (first ÷ median of the others: 0.98 over 8 analyses).
COLD_CACHE_BYTES = 256 * 1024
MAX_CACHE_WARMUPS = 3  # a page cache too small to hold the package stays cold; say so, go on
# --runs auto: the precision aimed at (±5 % of the median), and the fewest runs whose order
# statistics can give a 95 % interval at all (5 runs cover only 94 %).
AUTO_PRECISION = 0.05
AUTO_MIN_RUNS = 6


@dataclass(frozen=True)
class AnalyzeRequest:
    path: Path
    handler: str | None = None
    runs: int = 10
    # Where the kernel cannot say whether a cold start read from disk, the first this many are
    # discarded as warm-ups; elsewhere only runs that did read from disk are (see COLD_CACHE_BYTES).
    warmup: int = 1
    build: bool = True
    layers: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # Cold starts on the other side of the bytecode question: three is the fewest that, against
    # ten main runs, give the penalty a 95 % interval narrower than the full range.
    bytecode_runs: int = 3
    init_limit_s: float = INIT_LIMIT_S
    cache_dir: Path | None = None
    events: tuple[Path, ...] = ()  # the lazy-import advisor: invoke these after a traced init
    verify: bool = False  # ... and measure a copy with the deferrable imports deferred
    follow_symlinks: bool = False  # package what links leaving the folder point at
    function: str | None = None  # a project's function, by logical id (or serverless name)
    parameters: Mapping[str, str] = field(default_factory=dict)  # template parameter overrides
    lines: bool = True  # the function's own init line by line (one more, traced, cold start)
    line_dependencies: tuple[str, ...] = ()  # --lines NAME: these dependencies' lines too
    # --runs auto: measure at least ``runs`` (AUTO_MIN_RUNS at least), then stop once the init
    # median's 95 % interval is within AUTO_PRECISION of it, or at ``max_runs``.
    auto_runs: bool = False
    max_runs: int = 30
    build_variant: str = ""  # see package.build_package
    # Lambda's architecture for the estimate of its Init Duration there; None: the one built for.
    lambda_architecture: str | None = None
    package_type: str = "zip"
    python: str | None = None  # --python: a version, python3.N or a path; else the Runtime
    runtime_boto3: str | None = None  # --runtime-boto3: overrides Lambda's table
    filesystem: str | None = None  # "lambda" or "copy"; None: lambda where the kernel allows
    page_cache: str = "warm"  # "cold": evict the package and layers before each cold start
    installer: str = "auto"  # auto (uv where it yields pip's package), pip or uv
    architecture: str | None = None  # the platform tags built for; None: the template's or x86_64


@dataclass(frozen=True)
class EventTimes:
    """The first --event run twice right after a timed init, in the same environment."""

    first_ms: float
    warm_ms: float | None  # None when the first failed (the second is not run)
    imports: importtime.ImportTrace  # what the first invocation imported
    error: str | None = None  # how the handler failed


@dataclass(frozen=True)
class ColdStart:
    """One measured init: its duration and the import trace it printed."""

    init_ms: float
    trace: importtime.ImportTrace
    disk_read_bytes: int | None = None  # None: not observable here
    events: EventTimes | None = None
    process: ProcessSample | None = None  # CPU time, reads, libraries at the end of init


def _function_output(environment: ExecutionEnvironment) -> str:
    """What the function printed, without the -X importtime rows that share its stderr."""
    stderr = "\n".join(
        line for line in environment.stderr_text().splitlines() if "import time:" not in line
    )
    output = "\n".join(
        part for part in (environment.init_output().rstrip(), stderr.rstrip()) if part
    )
    return readable(output)


def _invoke_error(payload: bytes, status: str) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("errorType") or body.get("errorMessage")):
        return f"{body.get('errorType') or 'Error'}: {body.get('errorMessage') or ''}".rstrip(": ")
    return status


def _event_twice(environment: ExecutionEnvironment, payload: bytes) -> EventTimes:
    """The cold invocation, then a warm one; -X importtime rows between marks are the first's."""
    start = environment.stderr_mark()
    first = environment.invoke(payload)
    imports = importtime.parse(environment.stderr_text(start, environment.stderr_mark()))
    if not first.ok:
        return EventTimes(
            first.duration_ms, None, imports, _invoke_error(first.payload, first.status)
        )
    warm = environment.invoke(payload)
    if not warm.ok:
        error = _invoke_error(warm.payload, warm.status)
        return EventTimes(first.duration_ms, None, imports, f"the second invocation: {error}")
    return EventTimes(first.duration_ms, warm.duration_ms, imports)


def cold_start(
    spec: EnvironmentSpec, event: bytes | None = None
) -> tuple[ColdStart, InitFailure | None]:
    """Spawn one environment, wait for the end of its init (then, given an event, invoke it
    twice), kill it; report how init went."""
    environment = ExecutionEnvironment(spec)
    events = None
    try:
        outcome = environment.start()
        if outcome.ok and event is not None:
            events = _event_twice(environment, event)
    finally:
        environment.kill()
    trace = importtime.parse(environment.stderr_text(0, environment.init_stderr_end or None))
    failure = None
    if not outcome.ok:
        error = outcome.error or {}
        failure = InitFailure(
            status=outcome.status,
            error_type=str(error["errorType"]) if "errorType" in error else None,
            message=outcome.describe,
            output=_function_output(environment),
        )
    start = ColdStart(outcome.init_ms, trace, outcome.disk_read_bytes, events, outcome.process)
    return start, failure


def _warms_cache(start: ColdStart, kept: int, discarded: int, warmup: int) -> bool:
    """Whether a cold start only warmed caches and should be run again."""
    if start.disk_read_bytes is None:
        return kept == 0 and discarded < warmup
    return start.disk_read_bytes > COLD_CACHE_BYTES and discarded < MAX_CACHE_WARMUPS


def _discard_reason(discarded: Sequence[ColdStart], kept: Sequence[ColdStart]) -> str | None:
    if not discarded:
        return None
    read = [s.disk_read_bytes for s in discarded if s.disk_read_bytes is not None]
    if not read:
        return "a warm-up: whether a cold start read from disk cannot be seen here"
    reason = f"read up to {max(read) / 2**20:.1f} MiB from disk rather than the page cache"
    still = sum(1 for s in kept if (s.disk_read_bytes or 0) > COLD_CACHE_BYTES)
    if still:
        reason += (
            f"; {still} counted cold starts read from disk too, so their times include it "
            "(is the page cache too small to hold the package?)"
        )
    return reason


@dataclass(frozen=True)
class Prepared:
    """A function ready for cold starts: built, with its environment spec and attribution."""

    source: FunctionSource
    task_root: Path
    spec: EnvironmentSpec
    attribution: Attribution
    request: AnalyzeRequest  # as measured: layers made absolute, the cache that can be written
    run_info: _RunInfo  # the interpreter, runtime directory, filesystem and page cache
    payloads: tuple[bytes, ...] = ()
    cache_note: str | None = None  # why another cache than the usual one is in use
    line_files: Mapping[str, str] = field(default_factory=dict)  # to trace line by line
    sizes_from: Attribution | None = None  # another architecture's build, for the sizes


def prepare(request: AnalyzeRequest, progress: Progress | None = None) -> Prepared:
    """Check the request, build the package, and describe the environment to start."""
    progress = progress or NoProgress()
    if request.runs < 1:
        raise UsageError("--runs must be at least 1")
    if request.auto_runs and request.max_runs < request.runs:
        raise UsageError(f"--max-runs {request.max_runs} is below the {request.runs} runs asked")
    for layer in request.layers:
        if not layer.is_dir():
            raise UsageError(f"--layer {layer}: not a directory")
    layers = tuple(Path(os.path.abspath(p)) for p in request.layers)
    request = replace(request, layers=layers)
    payloads = read_events(request.events)
    if request.page_cache not in lambda_fs.PAGE_CACHE_MODES:
        raise UsageError(f"--page-cache {request.page_cache}: expected warm or cold")
    source = resolve_function(
        request.path, request.handler, request.function, request.parameters
    )
    check_function_tree(source.path, request.follow_symlinks)
    # Before any cold start: a cache that fails to take the sizes afterwards would lose them all.
    cache, cache_note = writable_cache(request.cache_dir)
    request = replace(request, cache_dir=cache)
    python = interpreter_for(source, request.python)
    mode = lambda_fs.choose_mode(request.filesystem)
    prune_cache(request.cache_dir)  # at most once a day
    if source.needs_build and request.build:
        progress.start(f"building {source.path.name} (pip install -r requirements.txt)")
    if request.architecture is None:  # the template's Architectures, else x86_64
        declared_arch = source.spec.architecture if source.spec is not None else None
        request = replace(request, architecture=declared_arch or "x86_64")
    assert request.architecture is not None
    if request.architecture not in lambda_facts.PLATFORM_TAGS:
        raise UsageError(f"--architecture {request.architecture}: expected x86_64 or arm64")
    machine = machine_architecture()
    build_notes: list[str] = []
    size_root: Path | None = None  # where package sizes come from, when not the timed build
    pins: list[str] = []
    if request.architecture != machine and source.needs_build and request.build:
        # This machine cannot run the other architecture's binaries: size the package as
        # Lambda gets it for that architecture, and time this machine's build of the very
        # same versions.
        size_root = task_root_for(
            source,
            cache=request.cache_dir,
            target=_target(request.architecture, python, request.installer),
            notes=build_notes,
            variant=request.build_variant,
        )
        pins = resolved_versions(size_root)
    task_root = task_root_for(
        source,
        build=request.build,
        cache=request.cache_dir,
        target=_target(machine if size_root else request.architecture, python, request.installer),
        notes=build_notes,
        pins=pins,
        variant=request.build_variant,
    )
    progress.finish()
    if request.architecture != machine:
        build_notes.append(
            f"{request.architecture} on {machine}: package sizes are the {request.architecture} "
            f"build's ({lambda_facts.PLATFORM_TAGS[request.architecture]}); timings come from "
            f"the {machine} build of the same versions, run on this {machine} machine"
            if size_root
            else f"{request.architecture} on {machine}: timed on this {machine} machine, from "
            "the folder as it is"
        )
    sdk = interpreter.runtime_sdk(python.runtime, request.runtime_boto3)
    if not python.is_own or sdk.boto3 is not None:
        progress.start(f"installing the runtime for Python {python.version} (once)")
    runtime = interpreter.runtime_dir_for(python, sdk, request.cache_dir)
    progress.finish()
    declared_env: dict[str, str] = {}
    if source.spec is not None:
        from coldprof.build.layers import project_layers

        if source.spec.local_layers:
            progress.start(f"building the layers of {source.spec.logical_id}")
        # The template's layers come first, as Lambda stacks them; --layer adds to them.
        built = project_layers(source.spec, cache=request.cache_dir)
        progress.finish()
        request = replace(request, layers=(*built, *request.layers))
        declared_env = dict(source.spec.environment)
    spec = EnvironmentSpec(
        handler=source.handler,
        task_root=task_root,
        runtime_dir=runtime,
        layers=request.layers,
        python=python.path,
        python_version=python.minor,
        user_env={**declared_env, **request.env},  # --env overrides the template
        importtime=True,
        merge_stderr=False,
        init_limit_s=request.init_limit_s,
    )
    layer_dirs = [p for layer in request.layers for p in layer_paths(layer, python.minor)]
    attribution = Attribution(
        task_root, layer_dirs, spec.runtime_dir, stdlib_dirs=tuple(map(Path, python.stdlib))
    )
    line_files = (
        function_lines.traced_files(attribution, request.line_dependencies) if request.lines else {}
    )
    sizes_from = None
    if size_root is not None:
        sizes_from = Attribution(
            size_root, layer_dirs, spec.runtime_dir, stdlib_dirs=attribution.stdlib_dirs
        )
    run_info = _RunInfo(
        python,
        declared_runtime(source),
        sdk,
        runtime,
        mode,
        request.page_cache,
        tuple(build_notes),
        build_installer(task_root) if task_root != source.path else None,
    )
    return Prepared(
        source,
        task_root,
        spec,
        attribution,
        request,
        run_info,
        tuple(payloads),
        cache_note,
        line_files,
        sizes_from,
    )


class Side:
    """The cold starts of one prepared function, kept or discarded as they come.

    They run in the function's filesystem (Lambda's, or read-only copies of its folders),
    which stays open across interleaved ``measure_one`` calls (audit --base measures two
    sides in turn) until ``close()``: use a Side as a context manager.
    """

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.request = prepared.request
        self.starts: list[ColdStart] = []
        self.discarded: list[ColdStart] = []
        # The first --event runs right after each timed init, until the handler fails on it.
        self.first_event = prepared.payloads[0] if prepared.payloads else None
        self.event_error: str | None = None
        # The speed reference runs between cold starts, so it sees the same machine load they do.
        self.references: list[float | None] = []
        self._filesystem = contextlib.ExitStack()
        self._measured: EnvironmentSpec | None = None

    def __enter__(self) -> Side:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def measured(self) -> EnvironmentSpec:
        """The spec the cold starts run with, its filesystem set up on first use."""
        if self._measured is None:
            mode = self.prepared.run_info.filesystem
            self._measured = self._filesystem.enter_context(_filesystem(self.prepared.spec, mode))
        return self._measured

    def close(self) -> None:
        """Remove the copies the cold starts ran on (nothing to remove in Lambda's mode)."""
        self._filesystem.close()
        self._measured = None

    def measure_one(self) -> ColdStart:
        """One counted cold start; runs that only warmed the page cache are run again."""
        spec = self.measured
        cold_cache = self.request.page_cache == "cold"
        while True:
            if cold_cache:
                lambda_fs.evict([spec.task_root, *spec.layers])
            start, failure = cold_start(spec, self.first_event)
            python = self.prepared.spec.python
            self.references.extend(speedref.measure(python) for _ in range(speedref.PER_COLD_START))
            if failure is not None:
                from coldprof.build.layers import missing_layer_hint

                partial = _result(self.prepared, self.request, [start], None, failure)
                declared = self.prepared.source.spec
                raise FunctionInitError(
                    f"the function failed at init: {failure.message}",
                    function_output=failure.output,
                    partial=self.prepared.run_info.apply(partial, [start]),
                    hint=missing_layer_hint(declared, f"{failure.message}\n{failure.output}"),
                )
            if start.events is not None and start.events.error is not None:
                self.event_error = start.events.error
                self.first_event = None  # the handler fails on it: once is enough (may time out)
            # With a cold page cache every run reads from disk: that is what is being measured.
            if not cold_cache and _warms_cache(
                start, len(self.starts), len(self.discarded), self.request.warmup
            ):
                self.discarded.append(start)
                continue
            self.starts.append(start)
            return start


def precise_enough(samples: Sequence[float], target: float = AUTO_PRECISION) -> bool:
    """Whether the median's 95 % interval reaches no further than ``target`` of it either way."""
    reach = stats.relative_half_width(samples)
    return reach is not None and reach <= target


def auto_stop_reason(samples: Sequence[float], limit_hit: bool, what: str = "init median") -> str:
    """Say what ended --runs auto, with the precision reached."""
    reach = stats.relative_half_width(samples)
    shown = "?" if reach is None else f"±{reach * 100:.1f} %"
    if limit_hit:
        return (
            f"--max-runs {len(samples)} reached with the {what}'s 95 % interval at {shown} "
            f"(the goal: ±{AUTO_PRECISION * 100:.0f} %)"
        )
    return f"the {what}'s 95 % interval reached {shown} after {len(samples)} runs"


def run_count_done(
    samples: Sequence[float], request: AnalyzeRequest
) -> tuple[bool, str | None]:
    """Whether to stop measuring, and (under --runs auto) why."""
    n = len(samples)
    if not request.auto_runs:
        return n >= request.runs, None
    if n >= request.max_runs:
        return True, auto_stop_reason(samples, limit_hit=True)
    if n >= max(request.runs, AUTO_MIN_RUNS) and precise_enough(samples):
        return True, auto_stop_reason(samples, limit_hit=False)
    return False, None


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
            penalty = _bytecode_penalty(
                side.measured, prepared.spec, starts, prepared.attribution, request, progress
            )
            progress.finish()
    finally:
        side.close()
    result = _result(prepared, request, starts, penalty, None)
    result = replace(
        prepared.run_info.apply(result, starts),
        discarded_runs=len(side.discarded),
        discarded_reason=_discard_reason(side.discarded, starts),
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
        result = _lines(result, prepared.spec, attribution, prepared.line_files, progress)
    if request.events or request.verify:
        # The advisor maps the code files its traced start ran back to the package: it runs
        # on the folders as they are (host paths), never writing to them.
        result = _advise(
            result, prepared.spec, prepared.attribution, prepared.payloads, request, progress
        )
    if prepared.cache_note:
        warnings = (*result.package.warnings, prepared.cache_note)
        result = replace(result, package=replace(result.package, warnings=warnings))
    return result


# -- the first invocation and the function's own lines ----------------------------------------
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
    first = statistics.median(e.first_ms for e in ok)
    warm = statistics.median(e.warm_ms for e in ok if e.warm_ms is not None)
    per_run = [_dependency_runs(e.imports, attribution)[1] for e in ok]
    names = dict.fromkeys(name for run in per_run for name in run)
    imports = [
        InvocationImport(name, round(statistics.median(run.get(name, 0.0) for run in per_run), 3))
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


def _lines(
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
    with _filesystem(spec, lambda_fs.COPY) as copied:
        moves = [(spec.task_root, copied.task_root), *zip(spec.layers, copied.layers, strict=True)]
        traced_files = {_relocate(f, moves): owner for f, owner in files.items()}
        traced = replace(copied, init_limit_s=_traced_init_limit(spec))
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
            [Path(_relocate(str(site), moves)) for site in sites],
        )
    return replace(result, function_lines=tuple(lines), function_lines_tracer=trace.tracer)


def _relocate(path: str, moves: Sequence[tuple[Path, Path]]) -> str:
    """``path`` under the first of ``moves``' old folders, moved to its new one."""
    for old, new in moves:
        prefix = str(old)
        if path == prefix or path.startswith(prefix + os.sep):
            return str(new) + path[len(prefix) :]
    return path


def machine_architecture() -> str:
    """This machine's architecture, named as Lambda names them."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def _target(
    architecture: str, python: interpreter.Interpreter, installer: str = "auto"
) -> BuildTarget:
    return BuildTarget(
        platform=lambda_facts.PLATFORM_TAGS[architecture],
        python_version=python.minor,
        python=python.path,
        installer=installer,
    )


def declared_runtime(source: FunctionSource) -> tuple[str, str] | None:
    """(Runtime, the template that declares it), when the function's template names one."""
    spec = source.spec
    if spec is None or not spec.runtime:
        return None
    return spec.runtime, spec.template.name


def planned_python(request: AnalyzeRequest) -> str:
    """The Python version `analyze(request)` will run on: --python, else the Runtime."""
    source = resolve_function(request.path, request.handler, request.function, request.parameters)
    return interpreter_for(source, request.python).version


def interpreter_for(source: FunctionSource, wanted: str | None) -> interpreter.Interpreter:
    """--python, else the Runtime the function declares, else coldprof's own interpreter."""
    declared = declared_runtime(source)
    runtime, where = declared if declared else (None, "")
    return interpreter.resolve(wanted, runtime, f" in {where}" if where else "")


@dataclass(frozen=True)
class _RunInfo:
    """How the cold starts ran, for the result's header and notes."""

    python: interpreter.Interpreter
    declared: tuple[str, str] | None  # (Runtime, the template declaring it)
    sdk: interpreter.RuntimeSdk
    runtime_dir: Path
    filesystem: str
    page_cache: str
    build_notes: Sequence[str]
    installer: str | None = None  # what built the package, when it was built

    def apply(self, result: AnalyzeResult, starts: Sequence[ColdStart]) -> AnalyzeResult:
        declared = self.declared
        notes = list(self.build_notes)
        if declared and declared[0] != self.python.runtime:
            notes.append(
                f"the function declares {declared[0]} ({declared[1]}); it ran on Python "
                f"{self.python.version} ({self.python.origin})"
            )
        if self.filesystem == lambda_fs.COPY:
            notes.append(lambda_fs.COPY_CAVEAT)
        if self.page_cache == "cold":
            notes.append(
                "page cache: cold (package and layer files evicted before each cold start, "
                "as a new Lambda environment reads its code from storage)"
            )
        return replace(
            result,
            python=self.python.version,
            declared_runtime=declared[0] if declared else None,
            interpreter=recorded_path(self.python.path),
            runtime_sdk=_describe_sdk(self.sdk, self.runtime_dir),
            filesystem=self.filesystem,
            page_cache=self.page_cache,
            installer=self.installer,
            run_disk_read_bytes=tuple(s.disk_read_bytes for s in starts),
            notes=(*result.notes, *notes),
        )


def _describe_sdk(sdk: interpreter.RuntimeSdk, runtime_dir: Path) -> str:
    versions = {}
    for child in runtime_dir.glob("*.dist-info"):
        name, _, version = child.name.removesuffix(".dist-info").partition("-")
        versions[name.lower()] = version
    if not versions:  # coldprof's own packages, linked
        from coldprof.build.package import runtime_distributions

        versions = {d.metadata["Name"].lower(): d.version for d in runtime_distributions()}
    boto3, botocore = versions.get("boto3", "?"), versions.get("botocore", "?")
    return f"boto3 {boto3}, botocore {botocore} ({sdk.origin})"


@contextlib.contextmanager
def _filesystem(spec: EnvironmentSpec, mode: str) -> Iterator[EnvironmentSpec]:
    """The spec the measured cold starts run with: in Lambda's filesystem, or on read-only
    copies of the package and layers (never the user's folders)."""
    if mode == lambda_fs.LAMBDA:
        yield replace(spec, filesystem=mode)
        return
    scratch = Path(tempfile.mkdtemp(prefix="coldprof-copy-"))
    try:
        task_root = lambda_fs.read_only_copy(spec.task_root, scratch / "task")
        layers = tuple(
            lambda_fs.read_only_copy(layer, scratch / f"layer{i}")
            for i, layer in enumerate(spec.layers)
        )
        yield replace(spec, filesystem=mode, task_root=task_root, layers=layers)
    finally:
        lambda_fs.remove_read_only(scratch)


# -- bytecode ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BytecodePenalty:
    ms: float
    ci95: tuple[float, float]
    runs: int

    @property
    def within_noise(self) -> bool:
        """An interval that holds 0 cannot tell the two sides apart."""
        return self.ci95[0] <= 0 <= self.ci95[1]


def _imported_sources(starts: Sequence[ColdStart], attribution: Attribution) -> list[Path]:
    modules = {row.module for start in starts for row in start.trace.rows}
    return [f for f in map(attribution.source_file, sorted(modules)) if f is not None]


# Run by the function's interpreter (bytecode is per Python version): compile each source into
# the prefix where PYTHONPYCACHEPREFIX will look for it under the path the function sees.
_COMPILE = """\
import importlib.util, json, os, py_compile, sys
prefix, pairs = sys.argv[1], json.load(sys.stdin)
sys.pycache_prefix = prefix
for source, seen in pairs:
    cfile = importlib.util.cache_from_source(seen)
    try:
        if os.path.isfile(cfile) and os.path.getmtime(cfile) >= os.path.getmtime(source):
            continue
    except OSError:
        pass
    try:
        py_compile.compile(source, cfile=cfile, dfile=seen, doraise=True)
    except (NotADirectoryError, IsADirectoryError, FileExistsError) as e:
        sys.stderr.write(str(e))
        sys.exit(3)  # something in the cache is in the way: the caller rebuilds it
    except (py_compile.PyCompileError, OSError):
        pass  # a file that does not compile costs the same either way
"""


def _compile_into(prefix: Path, pairs: Sequence[tuple[Path, Path]], python: str) -> None:
    """Write .pyc files for (source, path the function sees) pairs where
    PYTHONPYCACHEPREFIX=prefix will look for them, with the function's interpreter."""
    if not pairs:
        return
    data = json.dumps([[str(a), str(b)] for a, b in pairs])
    try:
        done = subprocess.run(
            [python, "-S", "-I", "-c", _COMPILE, str(prefix)],
            input=data,
            text=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return  # no bytecode: the runs compare less, and say so through their noise
    if done.returncode == 3:
        raise OSError(done.stderr.strip() or f"cannot write bytecode under {prefix}")


def _seen_by_function(
    measured: EnvironmentSpec, original: EnvironmentSpec
) -> list[tuple[Path, Path]]:
    """(host folder, the folder the function sees it as) for the package, layers and runtime."""
    if measured.filesystem == lambda_fs.LAMBDA:
        pairs = [(original.task_root, seen_task_root(measured))]
        pairs += [(layer, Path(lambda_fs.LAYERS_DIR)) for layer in original.layers]
        return [*pairs, (original.runtime_dir, Path(lambda_fs.RUNTIME_DIR))]
    pairs = [(original.task_root, measured.task_root)]
    pairs += list(zip(original.layers, measured.layers, strict=True))
    return pairs


def _bytecode_penalty(
    measured: EnvironmentSpec,
    original: EnvironmentSpec,
    starts: Sequence[ColdStart],
    attribution: Attribution,
    request: AnalyzeRequest,
    progress: Progress,
) -> BytecodePenalty | None:
    """What init costs when the package's .py files have no bytecode, against when they have it,
    with its 95 % interval.

    Both sides run under PYTHONPYCACHEPREFIX with the standard library and runtime compiled, so
    only the package's own bytecode differs. The side the package already ships is the main runs.
    """
    sources = _imported_sources(starts, attribution)
    spec = original
    package_roots = [spec.task_root, *[p for layer in spec.layers for p in layer_paths(layer)]]
    folders = _seen_by_function(measured, original)

    def in_package(path: Path) -> bool:
        return any(path.is_relative_to(root) for root in package_roots)

    def seen(path: Path) -> Path:
        for host, view in folders:
            if path.is_relative_to(host):
                return view / path.relative_to(host)
        return path

    key = hashlib.sha256(
        f"{spec.task_root};{measured.filesystem};{spec.python}".encode()
    ).hexdigest()[:16]
    base = (request.cache_dir or cache_root()) / "pycache" / key
    fraction = bytecode_fraction(spec.task_root, attribution.task_root_files, _cache_tag(spec))
    shipped = fraction >= 0.5
    outside = [(s, seen(s)) for s in sources if not in_package(s)]
    inside = [] if shipped else [(s, seen(s)) for s in sources if in_package(s)]
    try:
        compare_to = _bytecode_prefix(base, spec.task_root, outside, inside, spec.python)
    except OSError:
        # A damaged cache (a file where a directory belongs, a half-removed tree): start over.
        remove_path(base)
        try:
            compare_to = _bytecode_prefix(base, spec.task_root, outside, inside, spec.python)
        except OSError as e:
            raise EnvironmentFailure(
                f"the bytecode cache {base} cannot be written: {e.strerror or e}",
                hint="check the permissions of the cache (COLDPROF_CACHE_DIR)",
            ) from e
    try:
        return _bytecode_runs(measured, starts, compare_to, shipped, request, progress)
    finally:
        if compare_to != base / "without-package":
            shutil.rmtree(compare_to, ignore_errors=True)


def _cache_tag(spec: EnvironmentSpec) -> str:
    """The .pyc tag of the function's interpreter ("cpython-312")."""
    return f"cpython-{spec.minor_version.replace('.', '')}"


def _bytecode_runs(
    spec: EnvironmentSpec,
    starts: Sequence[ColdStart],
    compare_to: Path,
    shipped: bool,
    request: AnalyzeRequest,
    progress: Progress,
) -> BytecodePenalty | None:
    samples: list[float] = []
    warmups = 0
    cold_cache = request.page_cache == "cold"
    while len(samples) < request.bytecode_runs:
        if cold_cache:
            lambda_fs.evict([spec.task_root, *spec.layers])
        start, failure = cold_start(replace(spec, pycache_prefix=compare_to))
        if failure is not None:
            return None
        # This side reads files the main runs do not: a run that read them from disk goes again.
        # (No blind warm-up where that cannot be seen: the main runs have warmed the rest.)
        if not cold_cache and _warms_cache(start, len(samples), warmups, warmup=0):
            warmups += 1
            continue
        samples.append(start.init_ms)
        progress.advance()
    main = [s.init_ms for s in starts]
    # Without bytecode minus with it, as a shift between the two sets of runs (Hodges-Lehmann),
    # with its distribution-free interval: both hold for any shape the machine's noise takes.
    slow, fast = (samples, main) if shipped else (main, samples)
    penalty = stats.shift_estimate(fast, slow)
    low, high = stats.shift_ci(fast, slow)
    return BytecodePenalty(round(penalty, 3), (round(low, 3), round(high, 3)), len(samples))


def _bytecode_prefix(
    base: Path,
    task_root: Path,
    outside: Sequence[tuple[Path, Path]],
    inside: Sequence[tuple[Path, Path]],
    python: str,
) -> Path:
    """The PYCACHE_PREFIX the bytecode runs use: everything but the package compiled, plus the
    package's own files when ``inside`` lists them (the side a package without .pyc lacks)."""
    mark_cache_entry(base)
    (base / PYCACHE_SOURCE).write_text(str(task_root))  # also marks it used (prune_cache)
    without = base / "without-package"
    _compile_into(without, outside, python)
    if not inside:
        return without
    # This run's own copy: another analysis of the same function may be using its own.
    with_package = Path(tempfile.mkdtemp(prefix="with-package-", dir=base))
    try:
        shutil.copytree(without, with_package, symlinks=True, dirs_exist_ok=True)
        _compile_into(with_package, inside, python)
    except OSError:
        shutil.rmtree(with_package, ignore_errors=True)
        raise
    return with_package


# -- aggregation ------------------------------------------------------------------------------
def _node_dependency(attribution: Attribution, module: str, parent_dep: str | None) -> str:
    """A module that cannot be found is a failed ``try: import x`` (brotli, certifi...): its
    cost, the search, belongs to whoever tried the import."""
    name = attribution.dependency_of(module).name
    if name == UNRESOLVED and parent_dep is not None:
        return parent_dep
    return name


def _dependency_runs(
    trace: importtime.ImportTrace, attribution: Attribution
) -> tuple[dict[str, float], dict[str, float], dict[str, set[str]]]:
    """Per dependency in one run: summed self ms, inclusive ms (outermost entries), modules.

    An entry's inclusive time is the sum of the self times below it, not CPython's cumulative
    column: CPython rounds each row's self and cumulative up to the microsecond separately, so
    the self times of a subtree of n imports add up to as much as n-1 µs more than its root's
    cumulative, and a dependency with many small modules ((stdlib), ~180 of them) came out with
    self > inclusive. Summing the same figures keeps inclusive >= self and the selves adding up.
    """
    self_ms: dict[str, float] = defaultdict(float)
    inclusive_ms: dict[str, float] = defaultdict(float)
    modules: dict[str, set[str]] = defaultdict(set)

    def walk(node: importtime.ImportNode, open_deps: frozenset[str], parent_dep: str | None) -> int:
        """Record ``node``'s subtree; return the sum of its self times in µs."""
        if node.cached:
            return 0
        dep = _node_dependency(attribution, node.module, parent_dep)
        self_ms[dep] += node.self_us / 1000
        # A failed ``try: import brotli`` imported nothing: its time is its importer's, but it
        # is none of its modules (urllib3 and httpx both try brotli; it belongs to neither).
        if dep == UNRESOLVED or attribution.dependency_of(node.module).name != UNRESOLVED:
            modules[dep].add(node.module)
        inner = open_deps | {dep}
        subtree_us = node.self_us + sum(walk(child, inner, dep) for child in node.children)
        if dep not in open_deps:
            inclusive_ms[dep] += subtree_us / 1000
        return subtree_us

    for root in trace.roots:
        walk(root, frozenset(), None)
    return self_ms, inclusive_ms, modules


def _merge_tree(
    traces: Sequence[importtime.ImportTrace], attribution: Attribution
) -> tuple[ImportTreeNode, ...]:
    """One tree across runs: each module under its most common parent, with median times."""
    self_us: dict[str, list[int]] = defaultdict(list)
    cumulative_us: dict[str, list[int]] = defaultdict(list)
    parents: dict[str, Counter[str | None]] = defaultdict(Counter)
    order: dict[str, int] = {}
    for trace in traces:
        for node, parent in importtime.iter_nodes(trace.roots):
            if node.cached:
                continue
            order.setdefault(node.module, len(order))
            self_us[node.module].append(node.self_us)
            cumulative_us[node.module].append(node.cumulative_us)
            parents[node.module][parent.module if parent else None] += 1
    children: dict[str | None, list[str]] = defaultdict(list)
    for module in sorted(order, key=order.__getitem__):
        likeliest = parents[module].most_common(1)[0][0]
        children[likeliest if likeliest in order else None].append(module)

    def build(module: str, seen: frozenset[str], parent_dep: str | None) -> ImportTreeNode:
        dep = _node_dependency(attribution, module, parent_dep)
        kids = [build(c, seen | {module}, dep) for c in children.get(module, []) if c not in seen]
        return ImportTreeNode(
            module=module,
            dependency=dep,
            self_ms=round(statistics.median(self_us[module]) / 1000, 3),
            cumulative_ms=round(statistics.median(cumulative_us[module]) / 1000, 3),
            children=tuple(kids),
        )

    return tuple(build(m, frozenset(), None) for m in children.get(None, []))


def _package_summary(
    task_root: Path,
    task_root_files: Sequence[str],
    layer_dirs: Sequence[Path],
    sizes: SizeCache,
    penalty: BytecodePenalty | None,
    distributions: Sequence[InstalledDistribution] = (),
    cache_tag: str | None = None,
) -> PackageSummary:
    package = footprint(task_root_files, sizes)
    layers = Footprint()
    for layer in layer_dirs:
        extra = footprint(walk_file_paths(layer), sizes)
        layers = Footprint(layers.unzipped_bytes + extra.unzipped_bytes, 0, 0)
    fraction = bytecode_fraction(task_root, task_root_files, cache_tag)
    warnings = []
    if package.zipped_bytes > ZIPPED_LIMIT_BYTES:
        warnings.append(
            f"zipped package is {package.zipped_bytes / 2**20:.1f} MiB, over Lambda's 50 MiB "
            "direct-upload limit (upload through S3, or trim it)"
        )
    if package.unzipped_bytes + layers.unzipped_bytes > UNZIPPED_LIMIT_BYTES:
        warnings.append(
            f"unzipped package with layers is "
            f"{(package.unzipped_bytes + layers.unzipped_bytes) / 2**20:.1f} MiB, over Lambda's "
            "250 MiB limit"
        )
    sdk = runtime_provided(distributions, sizes)
    if sdk is not None:
        warnings.append(sdk.warning())
    if fraction < 0.5:
        warnings.append(
            "the package ships no bytecode: /var/task is read-only, so every cold start "
            "recompiles its .py files"
        )
    return PackageSummary(
        unzipped_bytes=package.unzipped_bytes,
        zipped_bytes=package.zipped_bytes,
        files=package.files,
        has_bytecode=fraction >= 0.5,
        bytecode_fraction=round(fraction, 3),
        bytecode_penalty_ms=penalty.ms if penalty else None,
        bytecode_penalty_within_noise=penalty.within_noise if penalty else False,
        bytecode_penalty_ci95=penalty.ci95 if penalty else None,
        bytecode_penalty_runs=penalty.runs if penalty else 0,
        layers_unzipped_bytes=layers.unzipped_bytes,
        warnings=tuple(warnings),
        runtime_provided=sdk.distributions if sdk else (),
        runtime_provided_unzipped_bytes=sdk.weight.unzipped_bytes if sdk else 0,
        runtime_provided_zipped_bytes=sdk.weight.zipped_bytes if sdk else 0,
    )


def _result(
    prepared: Prepared,
    request: AnalyzeRequest,
    starts: Sequence[ColdStart],
    penalty: BytecodePenalty | None,
    failure: InitFailure | None,
) -> AnalyzeResult:
    """The result of the cold starts; package and dependency sizes from the prepared
    ``sizes_from`` (another architecture's build of the same versions) when there is one."""
    source, task_root, attribution = prepared.source, prepared.task_root, prepared.attribution
    sizes = SizeCache((request.cache_dir or cache_root()) / "zipped-sizes.json")
    sized = prepared.sizes_from or attribution
    per_run = [_dependency_runs(s.trace, attribution) for s in starts]
    names: dict[str, DependencyRef] = {}
    for self_ms, _, _ in per_run:
        for name in self_ms:
            names.setdefault(name, _ref(attribution, name))
    by_name = sized.by_name
    costs = []
    for name, ref in names.items():
        self_samples = tuple(round(run[0].get(name, 0.0), 3) for run in per_run)
        inclusive_samples = tuple(round(run[1].get(name, 0.0), 3) for run in per_run)
        modules = set().union(*(run[2].get(name, set()) for run in per_run))
        dist = by_name.get(name)
        if dist is not None:
            weight = footprint(dist.files, sizes)
        elif ref.kind == KIND_FUNCTION:
            weight = footprint(sized.function_files(), sizes)
        else:
            weight = Footprint()
        costs.append(
            DependencyCost(
                name=name,
                kind=ref.kind,
                version=ref.version,
                self_ms=round(statistics.median(self_samples), 3),
                inclusive_ms=round(statistics.median(inclusive_samples), 3),
                modules=len(modules),
                unzipped_bytes=weight.unzipped_bytes,
                zipped_bytes=weight.zipped_bytes,
                self_ms_samples=self_samples,
                inclusive_ms_samples=inclusive_samples,
            )
        )
    costs.sort(key=lambda c: (-c.inclusive_ms, c.name))
    runs = [
        invariants.RunAttribution(modules, _import_ms(start.trace))
        for start, (_, _, modules) in zip(starts, per_run, strict=True)
    ]
    source_path = getattr(source, "path", None)
    built = task_root != source_path
    own_files = (
        {str(p) for p in function_files(source_path)}
        if built and isinstance(source_path, Path)
        else None
    )
    problems = invariants.violations(costs, runs, attribution, own_files)
    layer_dirs = list(attribution.layer_dirs)
    package = _package_summary(
        sized.task_root,
        sized.task_root_files,
        layer_dirs,
        sizes,
        penalty,
        sized.distributions,
        _cache_tag(prepared.spec),
    )
    sizes.save()
    handler = getattr(source, "handler", "")
    return AnalyzeResult(
        handler=handler,
        python=platform.python_version(),
        platform=sys.platform,
        architecture=platform.machine(),
        function_path=recorded_path(getattr(source, "path", "")),
        task_root=recorded_path(task_root),
        built=built,
        runs=len(starts),
        init_ms=SampleStats.of([s.init_ms for s in starts])
        if failure is None
        else SampleStats.of([]),
        package=package,
        dependencies=tuple(costs),
        imports=_merge_tree([s.trace for s in starts], attribution),
        failure=failure,
        declared=declared_function(getattr(source, "spec", None)),
        attribution_problems=problems,
        import_ms=SampleStats.of([run.import_ms for run in runs]) if runs else None,
        runtime_client=runtime_client_label(default_runtime_client()),
    )


def declared_function(spec: FunctionSpec | None) -> DeclaredFunction | None:
    """The record a result carries of what the template declares (no environment values)."""
    if spec is None:
        return None
    return DeclaredFunction(
        logical_id=spec.logical_id,
        template=recorded_path(spec.template),
        source_format=spec.source_format,
        runtime=spec.runtime,
        architecture=spec.architecture,
        memory_mb=spec.memory_mb,
        timeout_s=spec.timeout_s,
        stand_ins=tuple((s.variable, s.value, s.reason) for s in spec.stand_ins),
        local_layers=tuple(layer.name for layer in spec.local_layers),
        arn_layers=tuple(layer.short_name for layer in spec.arn_layers),
        notes=spec.notes,
    )


def _import_ms(trace: importtime.ImportTrace) -> float:
    """The import time one cold start measured: its top-level imports, as CPython timed them."""
    return sum(root.cumulative_us for root in trace.roots if not root.cached) / 1000


def recorded_path(path: object) -> str:
    """A path as a result records it: relative to the working directory when under it (so a
    report committed with a repository names its own files), else with ~ for the home folder.
    Code that reads one back in the same run (py-spy, import sites) expands the ~."""
    if not str(path):
        return ""
    absolute = Path(str(path)).absolute()
    for base, shown in ((Path.cwd(), None), (Path.home(), "~")):
        try:
            relative = absolute.relative_to(base)
        except ValueError:
            continue
        if shown is None:
            return str(relative) if str(relative) != "." else "."
        return f"{shown}/{relative}"
    return str(absolute)


def _ref(attribution: Attribution, name: str) -> DependencyRef:
    dist = attribution.by_name.get(name)
    if dist is not None:
        return DependencyRef(dist.name, dist.kind, dist.version)
    kinds = {FUNCTION: KIND_FUNCTION, "(stdlib)": "stdlib", "(runtime)": "runtime"}
    return DependencyRef(name, kinds.get(name, "third-party"))


# -- the lazy-import advisor ------------------------------------------------------------------
def read_events(paths: Sequence[Path]) -> list[bytes]:
    """Each --event file's bytes, once it is known to hold JSON."""
    payloads = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"--event {path}: {e.strerror or e}") from e
        try:
            json.loads(data)
        except RecursionError as e:
            raise UsageError(f"--event {path}: JSON nested too deep to read") from e
        except json.JSONDecodeError as e:
            raise UsageError(
                f"--event {path}: not valid JSON ({e.msg}, line {e.lineno} column {e.colno})"
            ) from e
        except ValueError as e:  # bytes that are no Unicode text
            raise UsageError(f"--event {path}: not valid JSON ({e})") from e
        payloads.append(data)
    return payloads


TRACED_INIT_SLOWDOWN = 6  # how much longer than --init-limit a traced init may take


def _traced_init_limit(spec: EnvironmentSpec) -> float:
    # Tracing slows init down and a traced start is not timed: Lambda's limit does not apply.
    return max(spec.init_limit_s * TRACED_INIT_SLOWDOWN, 60.0)


@dataclass(frozen=True)
class TracedStart:
    """The advisor's cold start: init, then each event, with the usage trace they left."""

    init: InitOutcome
    events: tuple[EventRun, ...]
    usage_text: str
    output: str  # what the function printed during init


def traced_cold_start(spec: EnvironmentSpec, events: Sequence[tuple[str, bytes]]) -> TracedStart:
    """Init under the usage tracer, then invoke the handler with each event, in order."""
    from coldprof.advisor.report import EventRun

    with tempfile.TemporaryDirectory(prefix="coldprof-trace-") as scratch:
        trace_file = Path(scratch) / "usage.json"
        traced = replace(spec, trace_file=trace_file, init_limit_s=_traced_init_limit(spec))
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
    return TracedStart(init, tuple(runs), usage, _function_output(environment))


def _advise(
    result: AnalyzeResult,
    spec: EnvironmentSpec,
    attribution: Attribution,
    payloads: Sequence[bytes],
    request: AnalyzeRequest,
    progress: Progress,
) -> AnalyzeResult:
    """One traced cold start after the measured ones → the advisor's report in extras."""
    from coldprof.advisor import report as advisor

    events = list(zip([str(p) for p in request.events], payloads, strict=True))
    progress.start(f"traced cold start with {len(events)} event(s)", 1)
    traced = traced_cold_start(spec, events)
    progress.advance()
    progress.finish()
    # A failed traced init ran no invocation: that is no evidence that anything is unused.
    usage = advisor.parse_usage(traced.usage_text) if traced.init.ok else None
    report = advisor.advise(result, usage, traced.events, attribution, spec.task_root)
    if not traced.init.ok:
        report = replace(
            report, notes=(*report.notes, f"the traced init failed: {traced.init.describe}")
        )
    if request.verify:
        verification = _verify(result, report, spec, attribution, events, request, progress)
        report = replace(report, verification=verification)
    return replace(result, extras={**result.extras, ADVISOR_KEY: report.to_dict()})


def _verify(
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
    from coldprof.advisor import report as advisor
    from coldprof.advisor import rewrite

    plan = advisor.rewrite_plan(report, result.imports)
    verification = advisor.Verification(
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
        deferrals = advisor.plan_deferrals_for(sites, source)
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
        kept: dict[bool, list[ColdStart]] = {False: [], True: []}  # keyed by "is the copy"
        thrown = {False: 0, True: 0}
        index = 0
        while min(len(runs) for runs in kept.values()) < request.runs:
            pair = (spec, copy_spec) if index % 2 == 0 else (copy_spec, spec)
            index += 1
            for which in pair:
                is_copy = which is copy_spec
                if len(kept[is_copy]) >= request.runs:
                    continue
                start, failure = cold_start(which)
                if failure is not None:
                    progress.finish()
                    side = "rewritten copy" if is_copy else "original"
                    return replace(
                        verification, note=f"the {side} failed at init: {failure.message}"
                    )
                if _warms_cache(start, len(kept[is_copy]), thrown[is_copy], request.warmup):
                    thrown[is_copy] += 1
                    continue
                kept[is_copy].append(start)
                progress.advance()
        original, rewritten = kept[False], kept[True]
        progress.finish()
        copy_events = traced_cold_start(copy_spec, events).events if events else ()
    before = statistics.median(s.init_ms for s in original)
    after = statistics.median(s.init_ms for s in rewritten)
    # The prediction again, from the import times of these same original runs: both sides of
    # the comparison then come from the same minutes of a machine whose load may change.
    deferred = set(plan.deferred)
    predicted = statistics.median(_subtrees_ms(s.trace, attribution, deferred) for s in original)
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
        behaviour=_same_behaviour(report.events, copy_events),
        original_samples=tuple(round(s.init_ms, 3) for s in original),
        rewritten_samples=tuple(round(s.init_ms, 3) for s in rewritten),
    )


def _subtrees_ms(trace: importtime.ImportTrace, attribution: Attribution, names: set[str]) -> float:
    """Import ms of everything a set of dependencies starts in one run, nested ones once."""
    total = 0.0
    stack: list[tuple[importtime.ImportNode, str | None]] = [(r, None) for r in trace.roots]
    while stack:
        node, parent_dep = stack.pop()
        if node.cached:
            continue
        dep = _node_dependency(attribution, node.module, parent_dep)
        if dep in names:
            total += node.cumulative_us / 1000
        else:
            stack.extend((child, dep) for child in node.children)
    return total


def _same_behaviour(original: Sequence[EventRun], copy: Sequence[EventRun]) -> str:
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
