"""One memory tier: its cold starts, `concurrency` per configuration update, then warm ones."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from coldprof.aws.connection import LambdaCallError
from coldprof.aws.report import InitReport, InvokeReport, find_report, parse_log
from coldprof.errors import AwsError
from coldprof.progress import Progress
from coldprof.remote.configuration import force_cold
from coldprof.remote.correlation import tier_result
from coldprof.remote.request import RemoteRequest
from coldprof.results.remote import InvokeFailure, Sample, TierResult

if TYPE_CHECKING:
    from coldprof.aws.lambda_api import FunctionSnapshot, InvokeResponse, LambdaApi

T = TypeVar("T")


def sweep_tier(
    api: LambdaApi,
    snapshot: FunctionSnapshot,
    memory_mb: int,
    request: RemoteRequest,
    progress: Progress,
) -> TierResult:
    """Cold starts at one memory size, `concurrency` per configuration update, then warm ones."""
    cold: list[Sample] = []
    warm: list[Sample] = []
    retried: list[Sample] = []
    failures: list[InvokeFailure] = []
    notes: list[str] = []
    per_round = request.concurrency
    progress.start(
        f"{snapshot.name} @ {memory_mb} MB",
        total=request.samples * (1 + request.warm),
    )
    try:
        remaining = request.samples
        while remaining > 0:
            batch = min(per_round, remaining)
            remaining -= batch
            try:
                force_cold(api, snapshot, memory_mb)
            except LambdaCallError as e:
                if e.affects_whole_function:
                    raise
                return tier_result(
                    snapshot, memory_mb, cold, warm, failures, notes, retried, error=e.message
                )
            outcomes = run_parallel([lambda: api.invoke(snapshot.arn, request.payload)] * batch)
            started_warm = 0
            not_cold = 0
            for outcome in outcomes:
                progress.advance()
                sample, failure = invoke_outcome(api, snapshot, outcome)
                if failure is not None:
                    failures.append(failure)
                if sample is None:
                    continue
                if sample.retried_init:
                    retried.append(sample)
                elif sample.cold:
                    cold.append(sample)
                else:
                    not_cold += 1
                    warm.append(sample)
                if failure is None or failure.phase != "init":
                    started_warm += 1
            if not_cold:
                notes.append(
                    f"{not_cold} invocation(s) after a configuration update reported no Init "
                    "Duration (a warm environment was reused)"
                )
            if started_warm == 0 and failures and all(f.phase == "init" for f in failures):
                notes.append("stopped after a round in which every init failed")
                break
            for _ in range(request.warm * started_warm):
                outcome = run_parallel([lambda: api.invoke(snapshot.arn, request.payload)])[0]
                progress.advance()
                sample, failure = invoke_outcome(api, snapshot, outcome)
                if failure is not None:
                    failures.append(failure)
                if sample is not None:
                    (retried if sample.retried_init else cold if sample.cold else warm).append(
                        sample
                    )
    finally:
        progress.finish()
    return tier_result(snapshot, memory_mb, cold, warm, failures, notes, retried)


def run_parallel(calls: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Run each call on its own daemon thread; each result is a value or the exception raised.

    Daemon threads and short joins keep the main thread able to take Ctrl-C while invokes are
    in flight, and let the process exit without waiting for an invoke it no longer needs.
    """
    results: list[T | BaseException] = [RuntimeError("not run")] * len(calls)

    def work(index: int, call: Callable[[], T]) -> None:
        try:
            results[index] = call()
        except BaseException as e:  # handed to the caller, who decides
            results[index] = e

    threads = [
        threading.Thread(target=work, args=(i, call), name=f"coldprof-invoke-{i}", daemon=True)
        for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.25)
    return results


def invoke_outcome(
    api: LambdaApi, snapshot: FunctionSnapshot, outcome: InvokeResponse | BaseException
) -> tuple[Sample | None, InvokeFailure | None]:
    """An invoke's sample (from its REPORT) and/or its failure."""
    if isinstance(outcome, LambdaCallError):
        if outcome.affects_whole_function:
            raise outcome
        return None, InvokeFailure("invoke", outcome.code, outcome.message)
    if isinstance(outcome, BaseException):
        raise outcome
    summary = parse_log(outcome.log_tail)
    report = find_report(summary, outcome.request_id) if outcome.request_id else None
    init_reports: list[InitReport] = list(summary.init_reports)
    lookup_error: str | None = None
    if report is None and outcome.request_id:
        try:
            text = api.logs.logs_for_request(
                snapshot.log_group, outcome.request_id, outcome.started_at_ms
            )
        except AwsError as e:
            lookup_error = e.message
        else:
            logged = parse_log(text)
            report = find_report(logged, outcome.request_id)
            init_reports.extend(logged.init_reports)
    sample = Sample.of(report) if report is not None else None
    failed_init = [r for r in init_reports if r.status.lower() not in ("success", "")]
    if failed_init and sample is not None and not outcome.function_error:
        # Lambda retried the init inside this invoke, and the retry worked: a cold start, but
        # not a normal one (no Init Duration; the retried init is inside Duration).
        first = failed_init[0]
        return replace(sample, failed_init_status=first.status, failed_init_ms=first.init_ms), None
    if failed_init:
        init = failed_init[-1]
        return None, InvokeFailure(
            "init",
            init.error_type or outcome.error_type,
            outcome.error_message or f"init {init.status} in phase {init.phase}",
            outcome.request_id,
            init.init_ms,
        )
    if outcome.function_error:
        phase = "init" if _looks_like_init_error(outcome, report) else "invoke"
        failure = InvokeFailure(
            phase,
            outcome.error_type
            or (report.error_type if report is not None else None)
            or outcome.function_error,
            outcome.error_message or f"the function returned a {outcome.function_error} error",
            outcome.request_id,
            report.init_ms if report is not None else None,
        )
        # A failed run is no sample: its timing is that of a failure (a timeout, a crash, an
        # error path), and a recommendation must never rest on it.
        return None, failure
    if sample is None:
        reason = lookup_error or "neither the log tail nor CloudWatch Logs held its REPORT line"
        return None, InvokeFailure("report", None, reason, outcome.request_id)
    return sample, None


_INIT_ERROR_TYPES = (
    "Runtime.ImportModuleError",
    "Runtime.HandlerNotFound",
    "Runtime.UserCodeSyntaxError",
    "Runtime.MalformedHandlerName",
    "Runtime.ExitError",
    "Runtime.Unknown",
)


def _looks_like_init_error(outcome: InvokeResponse, report: InvokeReport | None) -> bool:
    if outcome.error_type in _INIT_ERROR_TYPES or (outcome.error_type or "").startswith("Init"):
        return True
    return report is not None and report.init_ms is None and (report.status or "") == "error"
