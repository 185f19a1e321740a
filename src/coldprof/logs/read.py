"""`coldprof logs`: read the functions' REPORT records from CloudWatch Logs and summarize them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coldprof.aws.connection import LambdaCallError
from coldprof.errors import UsageError
from coldprof.logs.insights import INSIGHTS_MAX_GROUPS, InsightsReader, InsightsUnavailable
from coldprof.logs.request import LogsRequest
from coldprof.logs.summary import Record, group_records, records_from_events, summarize
from coldprof.progress import NoProgress, Progress
from coldprof.results.logs import FunctionLogs, LogsResult, LogStats

if TYPE_CHECKING:
    from coldprof.aws.lambda_api import LambdaApi

# Well under the account's limit on concurrent Insights queries (30 by default), which other
# tools and people share.
INSIGHTS_CONCURRENCY = 4
FILTER_PATTERN = '?"REPORT RequestId" ?"INIT_REPORT" ?"platform.report" ?"platform.initReport"'


@dataclass(frozen=True)
class LogTarget:
    """A function whose logs to read."""

    name: str
    log_group: str
    architecture: str = "x86_64"
    note: str | None = None


def _is_python(runtime: str | None) -> bool:
    return bool(runtime and runtime.startswith("python"))


def targets(request: LogsRequest, api: LambdaApi) -> list[LogTarget]:
    """The functions to read: named ones (their LoggingConfig's group), or every Python one."""
    if request.all_functions:
        configs = [c for c in api.list_functions() if _is_python(c.runtime)]
        return [LogTarget(c.name, c.log_group, c.architecture) for c in configs]
    if request.functions:
        found = []
        for name in request.functions:
            try:
                config = api.snapshot(name)
            except LambdaCallError as e:
                if e.code != "ResourceNotFoundException":
                    raise
                # Deleted functions keep their logs: read the default group.
                short = name.rsplit(":function:", 1)[-1].split(":")[0]
                found.append(
                    LogTarget(
                        short,
                        f"/aws/lambda/{short}",
                        note="the function no longer exists; read its default log group, "
                        "priced as x86_64",
                    )
                )
                continue
            found.append(LogTarget(config.name, config.log_group, config.architecture))
        return found
    if request.local:  # every function the emulator kept logs for, deleted ones too
        groups = api.logs.log_group_names("/aws/lambda/")
        return [LogTarget(g.removeprefix("/aws/lambda/"), g) for g in groups]
    raise UsageError("name the functions to read with --function NAME, or pass --all")


def read_with_filter(api: LambdaApi, target: LogTarget, start_ms: int, end_ms: int) -> list[Record]:
    """FilterLogEvents on one log group: every report in the window."""
    try:
        events = api.logs.filter_log_events(target.log_group, start_ms, end_ms, FILTER_PATTERN)
    except LambdaCallError as e:
        if e.code == "ResourceNotFoundException":
            return []  # never invoked: no log group yet
        raise
    return records_from_events(
        (str(e.get("logStreamName", "")), str(e.get("message", ""))) for e in events
    )


def _batches(items: Sequence[LogTarget], size: int) -> list[list[LogTarget]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def read_logs(
    request: LogsRequest,
    api: LambdaApi,
    progress: Progress | None = None,
    now_ms: int | None = None,
    insights: InsightsReader | None = None,
) -> LogsResult:
    """Read every target's reports in the window and summarize them."""
    progress = progress or NoProgress()
    start_ms, end_ms = request.window(int(time.time() * 1000) if now_ms is None else now_ms)
    found = targets(request, api)
    if not found:
        notes_prefix = ["no functions matched"]
    else:
        notes_prefix = []
    records: dict[str, list[Record]] = {}
    notes: list[str] = list(notes_prefix)
    sources: set[str] = set()
    lock = threading.Lock()
    progress.start(f"reading the logs of {len(found)} functions", len(found))

    def by_filter(batch: Sequence[LogTarget]) -> None:
        for target in batch:
            read = read_with_filter(api, target, start_ms, end_ms)
            with lock:
                records[target.log_group] = read
                sources.add("filter")
            progress.advance()

    def by_insights(batch: Sequence[LogTarget]) -> None:
        reader = insights or InsightsReader(api.logs)
        try:
            read = reader.read([t.log_group for t in batch], start_ms, end_ms)
        except InsightsUnavailable as e:
            with lock:
                notes.append(f"{e}: read {len(batch)} log groups with FilterLogEvents instead")
            by_filter(batch)
            return
        with lock:
            for target in batch:
                records[target.log_group] = read.get(target.log_group, [])
            sources.add("insights")
        for _ in batch:
            progress.advance()

    try:
        batches = _batches(found, INSIGHTS_MAX_GROUPS)
        if request.local or not batches:
            by_filter(found)  # the emulator serves FilterLogEvents, not Insights
        else:
            with ThreadPoolExecutor(max_workers=INSIGHTS_CONCURRENCY) as pool:
                for future in [pool.submit(by_insights, batch) for batch in batches]:
                    future.result()
    finally:
        progress.finish()
    window_days = (end_ms - start_ms) / 86_400_000
    functions = []
    for target in found:
        mine = records.get(target.log_group, [])
        groups: tuple[tuple[str, LogStats], ...] = ()
        if request.by:
            groups = tuple(
                (key, summarize(group, target.architecture, window_days))
                for key, group in sorted(group_records(mine, request.by).items())
            )
        functions.append(
            FunctionLogs(
                name=target.name,
                log_group=target.log_group,
                architecture=target.architecture,
                stats=summarize(mine, target.architecture, window_days),
                groups=groups,
                note=target.note,
            )
        )
    if request.local and not request.functions:
        # Every group the emulator ever kept was read: show those with something in the window.
        functions = [f for f in functions if f.stats.invocations or f.stats.failed_inits]
    functions.sort(key=lambda f: (-f.stats.init_usd_per_month, -f.stats.cold_starts, f.name))
    return LogsResult(
        start_ms=start_ms,
        end_ms=end_ms,
        source="+".join(sorted(sources, reverse=True)) or "none",
        by=request.by,
        functions=tuple(functions),
        notes=tuple(dict.fromkeys(notes)),
    )
