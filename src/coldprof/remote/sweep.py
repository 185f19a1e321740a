"""The remote sweep: force cold starts per memory tier on each function, restore, correlate."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import replace

from coldprof.aws.connection import Connection, Redactor, region_of_arn
from coldprof.aws.lambda_api import FunctionSnapshot, LambdaApi
from coldprof.errors import AwsError, BuildError, UsageError
from coldprof.lambda_facts import PRICE_PER_GB_SECOND_USD
from coldprof.pricing import cost_per_million_usd
from coldprof.progress import NoProgress, Progress
from coldprof.remote.configuration import SignalGuard
from coldprof.remote.correlation import correlate
from coldprof.remote.deploy import (
    DEPLOY_TIMEOUT_S,
    DeployPlan,
    deploy_and_sweep,
    plan_deploy,
    undeployed,
)
from coldprof.remote.function import FunctionInterrupted, sweep_function
from coldprof.remote.request import RemoteRequest
from coldprof.results.remote import (
    ASSUMED_COLD_BILLED_MS,
    ASSUMED_WARM_BILLED_MS,
    Estimate,
    FunctionResult,
    RemoteResult,
)


def _embedded_runtime_client() -> str:
    from coldprof.runner.runtime_client import default_runtime_client, runtime_client_label

    return runtime_client_label(default_runtime_client())


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the run; every function touched was restored (or reported)."""

    def __init__(self, result: RemoteResult, signal_name: str) -> None:
        super().__init__(signal_name)
        self.result = result
        self.signal_name = signal_name


def sweep(
    request: RemoteRequest,
    progress: Progress | None = None,
    confirm: Callable[[Estimate], bool] | None = None,
    api_factory: Callable[[str | None], LambdaApi] | None = None,
) -> RemoteResult:
    """Sweep every function in `request` and correlate the results.

    `confirm` is asked before anything is changed or invoked in real AWS (not for --local or a
    loopback endpoint); returning False cancels the run. `api_factory(region)` replaces the
    boto3-backed client, for tests.
    """
    request.validate()
    progress = progress or NoProgress()
    if request.local:
        from coldprof.emulator.server import LocalLambda

        with LocalLambda() as endpoint_url:
            local_request = replace(request, endpoint_url=endpoint_url)
            return _run(local_request, progress, confirm, api_factory)
    return _run(request, progress, confirm, api_factory)


def _run(
    request: RemoteRequest,
    progress: Progress,
    confirm: Callable[[Estimate], bool] | None,
    api_factory: Callable[[str | None], LambdaApi] | None,
) -> RemoteResult:
    connection = Connection.from_options(request.region, request.profile, request.endpoint_url)
    redactor = Redactor()
    apis: dict[str | None, LambdaApi] = {}

    def api_for(region: str | None) -> LambdaApi:
        key = region or connection.region
        if key not in apis:
            if api_factory is not None:
                apis[key] = api_factory(key)
            else:
                apis[key] = LambdaApi(
                    replace(connection, region=key),
                    redactor=redactor,
                    max_pool_connections=max(10, request.concurrency + 2),
                )
        return apis[key]

    real_aws = not connection.is_local
    plans: list[DeployPlan] = []
    snapshots: list[FunctionSnapshot] = []
    if request.paths:
        plans = [plan_deploy(path, request, progress) for path in request.paths]
    else:
        snapshots = [api_for(region_of_arn(arn)).snapshot(arn) for arn in request.arns]
    if real_aws:
        estimate = estimate_run(request, snapshots)
        if confirm is not None and not confirm(estimate):
            raise UsageError("cancelled; nothing was changed")

    results: list[FunctionResult] = []
    interrupted = False
    with SignalGuard() as guard:
        try:
            if plans:
                for plan in plans:
                    # A loop, not extend(): an interrupt must keep the functions already done.
                    try:
                        done = deploy_and_sweep(api_for(None), plan, request, progress, guard)
                    except (AwsError, BuildError) as e:
                        # One function that cannot be deployed does not stop the others.
                        done = undeployed(plan, request, e)
                    results.append(done)
            else:
                for early in snapshots:
                    api = api_for(early.region)
                    # Read again right before changing anything: time passed at the prompt,
                    # and an update in progress must land before its result is the snapshot.
                    api.wait_updated(early.arn)
                    snapshot = api.snapshot(early.arn)
                    done = sweep_function(api, snapshot, request, progress, guard)
                    results.append(done)
        except FunctionInterrupted as e:
            results.append(e.result)
            interrupted = True
        except KeyboardInterrupt:
            # Outside any sweep (between functions, or while creating one): nothing to restore.
            interrupted = True
    result = RemoteResult(
        functions=tuple(results),
        correlation=correlate(results),
        memory_tiers=request.memory_tiers,
        samples=request.samples,
        warm=request.warm,
        concurrency=request.concurrency,
        local=request.local or connection.is_local,
        endpoint_url=connection.endpoint_url,
        created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        interrupted=interrupted,
        runtime_client=_embedded_runtime_client() if request.local else None,
    )
    if interrupted:
        raise SweepInterrupted(result, guard.signal_name)
    return result


def estimate_run(request: RemoteRequest, snapshots: Sequence[FunctionSnapshot]) -> Estimate:
    """The configuration updates, invocations and cost a run will make."""
    count = len(snapshots) or len(request.paths)
    tiers = len(request.memory_tiers)
    cold_per_tier = request.samples
    warm_per_tier = request.samples * request.warm
    updates_per_function = tiers * request.rounds_per_tier + 1  # +1: the restore
    cost = max_cost = 0.0
    targets: list[tuple[str, int]] = [(s.architecture, s.timeout_s) for s in snapshots] or [
        (request.architecture, DEPLOY_TIMEOUT_S)
    ] * len(request.paths)
    for architecture, timeout_s in targets:
        arch = architecture if architecture in PRICE_PER_GB_SECOND_USD else "x86_64"
        for memory in request.memory_tiers:
            cost += cold_per_tier * cost_per_million_usd(ASSUMED_COLD_BILLED_MS, memory, arch)
            cost += warm_per_tier * cost_per_million_usd(ASSUMED_WARM_BILLED_MS, memory, arch)
            invocations = cold_per_tier + warm_per_tier
            max_cost += invocations * cost_per_million_usd(timeout_s * 1000, memory, arch)
    return Estimate(
        functions=count,
        updates=count * updates_per_function,
        invocations=count * tiers * (cold_per_tier + warm_per_tier),
        cost_usd=cost / 1_000_000,
        max_cost_usd=max_cost / 1_000_000,
    )
