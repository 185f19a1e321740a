"""One function: every tier swept, then its configuration restored whatever happened."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from coldprof.errors import ColdprofError
from coldprof.progress import Progress
from coldprof.remote.configuration import RestoreOutcome, SignalGuard, restore
from coldprof.remote.correlation import recommend_tier
from coldprof.remote.request import RemoteRequest
from coldprof.remote.tier import sweep_tier
from coldprof.results.remote import FunctionResult, TierResult

if TYPE_CHECKING:
    from coldprof.aws.lambda_api import FunctionSnapshot, LambdaApi


class FunctionInterrupted(Exception):
    """Carries the restored (or not) function out of an interrupted sweep."""

    def __init__(self, result: FunctionResult) -> None:
        super().__init__(result.name)
        self.result = result


def sweep_function(
    api: LambdaApi,
    snapshot: FunctionSnapshot,
    request: RemoteRequest,
    progress: Progress,
    guard: SignalGuard,
) -> FunctionResult:
    """Every tier on one function, then its configuration put back, whatever happened.

    Raises FunctionInterrupted (after restoring) when a signal stopped the sweep.
    """
    tiers: list[TierResult] = []
    error: str | None = None
    interrupted = False
    outcome = RestoreOutcome(False, None)
    try:
        try:
            for memory in request.memory_tiers:
                # A loop, not extend(): an interrupt must keep the tiers already measured.
                tier = sweep_tier(api, snapshot, memory, request, progress)
                tiers.append(tier)
        except KeyboardInterrupt:
            interrupted = True
        except ColdprofError as e:
            error = e.message
    finally:
        # Runs on success, on an error, on Ctrl-C and SIGTERM, and on a bug in the loop above.
        progress.start(f"{snapshot.name}: restoring the configuration")
        with guard.holding():
            outcome = restore(api, snapshot)
        progress.finish()
    interrupted = guard.take_pending() or interrupted
    result = function_result(snapshot, tiers, outcome, error)
    if interrupted:
        raise FunctionInterrupted(result)
    return result


def function_result(
    snapshot: FunctionSnapshot,
    tiers: Sequence[TierResult],
    outcome: RestoreOutcome,
    error: str | None,
) -> FunctionResult:
    recommended, reason = recommend_tier(tiers)
    return FunctionResult(
        arn=snapshot.arn,
        name=snapshot.name,
        runtime=snapshot.runtime,
        python=python_that_ran(snapshot.runtime_version_arn),
        architecture=snapshot.architecture,
        package_type=snapshot.package_type,
        code_size_bytes=snapshot.code_size_bytes,
        original_memory_mb=snapshot.memory_mb,
        restored=outcome.restored,
        restore_command=outcome.command,
        tiers=tuple(tiers),
        environment_names=snapshot.environment_names,
        recommended_memory_mb=recommended,
        recommendation=reason,
        error=error,
    )


def python_that_ran(runtime_version_arn: str | None) -> str | None:
    """The Python version coldprof's emulator ran a function on, from its RuntimeVersionArn."""
    match = re.search(r"coldprof-local-python(\d+\.\d+\.\d+)", runtime_version_arn or "")
    return match.group(1) if match else None
