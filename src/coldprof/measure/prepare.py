"""A function made ready for cold starts: the request checked, the package built, the spec set."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from coldprof import lambda_facts
from coldprof.build.cache import prune_cache, writable_cache
from coldprof.build.dependencies import build_installer
from coldprof.build.function_tree import check_function_tree
from coldprof.build.handler import FunctionSource, resolve_function
from coldprof.build.layers import project_layers
from coldprof.build.package import resolved_versions, task_root_for
from coldprof.errors import UsageError
from coldprof.measure import function_lines
from coldprof.measure.distributions import Attribution
from coldprof.measure.request import AnalyzeRequest, read_events
from coldprof.measure.runinfo import RunInfo
from coldprof.measure.spec import (
    build_target,
    declared_runtime,
    environment_spec,
    interpreter_for,
    machine_architecture,
)
from coldprof.progress import NoProgress, Progress
from coldprof.runner import interpreter, lambda_fs
from coldprof.runner.spec import EnvironmentSpec, layer_paths


@dataclass(frozen=True)
class Prepared:
    """A function ready for cold starts: built, with its environment spec and attribution."""

    source: FunctionSource
    task_root: Path
    spec: EnvironmentSpec
    attribution: Attribution
    request: AnalyzeRequest  # as measured: layers made absolute, the cache that can be written
    run_info: RunInfo  # the interpreter, runtime directory, filesystem and page cache
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
    source = resolve_function(request.path, request.handler, request.function, request.parameters)
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
            target=build_target(request.architecture, python, request.installer),
            notes=build_notes,
            variant=request.build_variant,
        )
        pins = resolved_versions(size_root)
    task_root = task_root_for(
        source,
        build=request.build,
        cache=request.cache_dir,
        target=build_target(
            machine if size_root else request.architecture, python, request.installer
        ),
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
    if source.spec is not None:
        if source.spec.local_layers:
            progress.start(f"building the layers of {source.spec.logical_id}")
        # The template's layers come first, as Lambda stacks them; --layer adds to them.
        built = project_layers(source.spec, cache=request.cache_dir)
        progress.finish()
        request = replace(request, layers=(*built, *request.layers))
    spec = environment_spec(
        source, task_root, python, runtime, request.layers, request.env, request.init_limit_s
    )
    request = replace(request, layers=spec.layers)
    copy_reason = None
    if mode == lambda_fs.LAMBDA:
        # Now that the folders are known: ones Lambda's filesystem would hide need the copy.
        folders = (task_root, spec.runtime_dir, *spec.layers)
        mode = lambda_fs.choose_mode(request.filesystem, folders)
        copy_reason = lambda_fs.hidden_folder(folders)
    layer_dirs = [p for layer in spec.layers for p in layer_paths(layer, python.minor)]
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
    run_info = RunInfo(
        python,
        declared_runtime(source),
        sdk,
        runtime,
        mode,
        request.page_cache,
        tuple(build_notes),
        build_installer(task_root) if task_root != source.path else None,
        filesystem_reason=copy_reason,
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
