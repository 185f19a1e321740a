"""Counted cold starts → the AnalyzeResult record: per-dependency costs, sizes, the import tree."""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence

from coldprof import stats
from coldprof.build.cache import cache_root
from coldprof.build.package import function_files
from coldprof.measure import invariants
from coldprof.measure.aggregate import dependency_ref, dependency_runs, import_ms, merge_tree
from coldprof.measure.bytecode import BytecodePenalty, cache_tag
from coldprof.measure.coldstart import ColdStart
from coldprof.measure.distributions import (
    KIND_FUNCTION,
    DependencyRef,
    Footprint,
    SizeCache,
    footprint,
)
from coldprof.measure.package_summary import package_summary
from coldprof.measure.prepare import Prepared
from coldprof.measure.runinfo import recorded_path
from coldprof.project import FunctionSpec
from coldprof.results.analyze import (
    AnalyzeResult,
    DeclaredFunction,
    DependencyCost,
    InitFailure,
    SampleStats,
)
from coldprof.runner.runtime_client import default_runtime_client, runtime_client_label


def result_of(
    prepared: Prepared,
    starts: Sequence[ColdStart],
    penalty: BytecodePenalty | None,
    failure: InitFailure | None,
) -> AnalyzeResult:
    """The result of the cold starts; package and dependency sizes from the prepared
    ``sizes_from`` (another architecture's build of the same versions) when there is one."""
    source, task_root, attribution = prepared.source, prepared.task_root, prepared.attribution
    request = prepared.request
    sizes = SizeCache((request.cache_dir or cache_root()) / "zipped-sizes.json")
    sized = prepared.sizes_from or attribution
    per_run = [dependency_runs(s.trace, attribution) for s in starts]
    names: dict[str, DependencyRef] = {}
    for self_ms, _, _ in per_run:
        for name in self_ms:
            names.setdefault(name, dependency_ref(attribution, name))
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
                self_ms=round(stats.median(self_samples), 3),
                inclusive_ms=round(stats.median(inclusive_samples), 3),
                modules=len(modules),
                unzipped_bytes=weight.unzipped_bytes,
                zipped_bytes=weight.zipped_bytes,
                self_ms_samples=self_samples,
                inclusive_ms_samples=inclusive_samples,
            )
        )
    costs.sort(key=lambda c: (-c.inclusive_ms, c.name))
    runs = [
        invariants.RunAttribution(modules, import_ms(start.trace))
        for start, (_, _, modules) in zip(starts, per_run, strict=True)
    ]
    built = task_root != source.path
    own_files = {str(p) for p in function_files(source.path)} if built else None
    problems = invariants.violations(costs, runs, attribution, own_files)
    layer_dirs = list(attribution.layer_dirs)
    package = package_summary(
        sized.task_root,
        sized.task_root_files,
        layer_dirs,
        sizes,
        penalty,
        sized.distributions,
        cache_tag(prepared.spec),
    )
    sizes.save()
    return AnalyzeResult(
        handler=source.handler,
        python=platform.python_version(),
        platform=sys.platform,
        architecture=platform.machine(),
        function_path=recorded_path(source.path),
        task_root=recorded_path(task_root),
        built=built,
        runs=len(starts),
        init_ms=SampleStats.of([s.init_ms for s in starts])
        if failure is None
        else SampleStats.of([]),
        package=package,
        dependencies=tuple(costs),
        imports=merge_tree([s.trace for s in starts], attribution),
        failure=failure,
        declared=declared_function(source.spec),
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
