"""Function directories as temporary functions: build, zip, create, sweep, delete."""

from __future__ import annotations

import secrets
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from coldprof.errors import ColdprofError, UsageError
from coldprof.lambda_facts import PLATFORM_TAGS, UNZIPPED_LIMIT_BYTES, ZIPPED_LIMIT_BYTES
from coldprof.progress import Progress
from coldprof.remote.archive import build_zip, zip_includes
from coldprof.remote.configuration import SignalGuard, safe_name
from coldprof.remote.function import FunctionInterrupted, sweep_function
from coldprof.remote.request import RemoteRequest
from coldprof.results.remote import FunctionResult

if TYPE_CHECKING:
    from coldprof.aws.lambda_api import LambdaApi
    from coldprof.build.handler import FunctionSource

# The temporary function's timeout, which the cost estimate's worst case also assumes.
DEPLOY_TIMEOUT_S = 30
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/coldprof-local"
MIB = 1024 * 1024


@dataclass(frozen=True)
class DeployPlan:
    """A function directory, packaged and zipped, ready to become a temporary function."""

    path: Path
    source: FunctionSource
    name: str
    zip_bytes: bytes = field(repr=False)
    unzipped_bytes: int
    runtime: str
    architecture: str
    environment: Mapping[str, str] = field(default_factory=dict)
    layer_arns: tuple[str, ...] = ()  # the template's layers by ARN, attached as they are


def plan_deploy(path: Path, request: RemoteRequest, progress: Progress) -> DeployPlan:
    """Resolve and build the function for Lambda's platform, then zip it."""
    from coldprof.build.dependencies import BuildTarget
    from coldprof.build.function_tree import check_function_tree
    from coldprof.build.handler import resolve_function
    from coldprof.build.package import task_root_for
    from coldprof.measure.distributions import walk_files

    source = resolve_function(path, request.handler, request.function, request.parameters)
    check_function_tree(source.path, request.follow_symlinks)
    spec = source.spec
    declared_runtime = spec.runtime if spec is not None and not request.local else None
    runtime = (
        request.runtime
        or declared_runtime
        or f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    python_version = runtime.removeprefix("python")
    if request.local:
        # The emulator runs the function on the Python its Runtime names where that is
        # installed here, else on coldprof's own: build for the one that will run it.
        from coldprof.runner.interpreter import find_version

        found = find_version(python_version, "Runtime")
        version = found.minor if found else f"{sys.version_info[0]}.{sys.version_info[1]}"
        target = BuildTarget(
            platform=PLATFORM_TAGS["x86_64"],
            python_version=version,
            python=found.path if found else "",
        )
    else:
        platform = PLATFORM_TAGS[request.architecture]
        target = BuildTarget(platform=platform, python_version=python_version)
    progress.start(f"building {source.path.name}")
    try:
        root = task_root_for(source, build=True, target=target)
        layers = list(request.layers)
        if spec is not None:
            from coldprof.build.layers import project_layers

            layers = [*project_layers(spec, target=target), *layers]
    finally:
        progress.finish()
    layer_roots = [layer / "python" for layer in layers if (layer / "python").is_dir()]
    unzipped = sum(p.stat().st_size for p in walk_files(root) if zip_includes(root, p))
    unzipped += sum(p.stat().st_size for r in layer_roots for p in walk_files(r))
    if unzipped > UNZIPPED_LIMIT_BYTES:
        raise UsageError(
            f"{path}: the package is {unzipped / MIB:,.1f} MB unzipped; Lambda allows "
            f"{UNZIPPED_LIMIT_BYTES // MIB} MB"
        )
    zipped = build_zip(root, python_version, layer_roots)
    if len(zipped) > ZIPPED_LIMIT_BYTES:
        raise UsageError(
            f"{path}: the zip is {len(zipped) / MIB:,.1f} MB; Lambda takes at most "
            f"{ZIPPED_LIMIT_BYTES // MIB} MB by direct upload",
            hint="trim the dependencies, or deploy through S3 yourself and use --arn",
        )
    return DeployPlan(
        path=path,
        source=source,
        name=temporary_function_name(source.path),
        zip_bytes=zipped,
        unzipped_bytes=unzipped,
        runtime=runtime,
        architecture=request.architecture,
        environment={**(spec.environment if spec is not None else {}), **request.env},
        layer_arns=tuple(layer.arn for layer in spec.arn_layers if layer.arn)
        if spec is not None
        else (),
    )


def temporary_function_name(path: Path) -> str:
    """`coldprof-<dirname>-<random>`, within Lambda's 64 characters of [A-Za-z0-9_-]."""
    stem = safe_name(path.resolve().name)[:40].strip("-_") or "function"
    return f"coldprof-{stem}-{secrets.token_hex(3)}"


def deploy_and_sweep(
    api: LambdaApi,
    plan: DeployPlan,
    request: RemoteRequest,
    progress: Progress,
    guard: SignalGuard,
) -> FunctionResult:
    """Create the temporary function, sweep it, and delete it unless --keep."""
    role = request.role or LOCAL_ROLE_ARN
    created = False
    result: FunctionResult | None = None
    interrupted: FunctionInterrupted | None = None
    try:
        progress.start(f"creating {plan.name}")
        try:
            with guard.holding():  # a function half-created by Ctrl-C would be left behind
                api.create_function(
                    plan.name,
                    zip_bytes=plan.zip_bytes,
                    role=role,
                    handler=plan.source.handler,
                    runtime=plan.runtime,
                    architecture=plan.architecture,
                    memory_mb=request.memory_tiers[0],
                    timeout_s=DEPLOY_TIMEOUT_S,
                    description=f"coldprof temporary function for {plan.path.name}",
                    environment=plan.environment,
                    layers=plan.layer_arns,
                )
                created = True
        finally:
            progress.finish()
        if guard.take_pending():
            raise KeyboardInterrupt
        snapshot = api.snapshot(plan.name)
        try:
            result = sweep_function(api, snapshot, request, progress, guard)
        except FunctionInterrupted as e:
            interrupted = e
            result = e.result
        result = replace(
            result,
            package_unzipped_bytes=plan.unzipped_bytes,
            source_path=str(plan.path),
            deployed=True,
        )
        if interrupted is not None:
            interrupted = FunctionInterrupted(result)
    finally:
        if created and not request.keep:
            deleted, command = _delete(api, plan.name, guard, progress)
            if result is not None:
                result = replace(result, deleted=deleted, delete_command=command)
                if interrupted is not None:
                    interrupted = FunctionInterrupted(result)
        elif created and result is not None:
            result = replace(result, deleted=False)
    if interrupted is not None:
        raise interrupted
    assert result is not None
    return result


def undeployed(plan: DeployPlan, request: RemoteRequest, error: ColdprofError) -> FunctionResult:
    """A function directory that never became a function (or vanished before its sweep)."""
    return FunctionResult(
        arn="",
        name=plan.name,
        runtime=plan.runtime,
        architecture=plan.architecture,
        package_type="Zip",
        code_size_bytes=len(plan.zip_bytes),
        original_memory_mb=request.memory_tiers[0],
        restored=True,  # nothing was changed that needs putting back
        package_unzipped_bytes=plan.unzipped_bytes,
        source_path=str(plan.path),
        deployed=True,
        error=error.message,
    )


def _delete(
    api: LambdaApi, name: str, guard: SignalGuard, progress: Progress
) -> tuple[bool, str | None]:
    progress.start(f"deleting {name}")
    try:
        with guard.holding():
            api.delete_function(name)
        return True, None
    except (ColdprofError, KeyboardInterrupt):
        connection = api.connection
        parts = ["aws", "lambda", "delete-function", "--function-name", name]
        if connection.region:
            parts += ["--region", connection.region]
        if connection.endpoint_url:
            parts += ["--endpoint-url", connection.endpoint_url]
        return False, shlex.join(parts)
    finally:
        progress.finish()
