"""`coldprof logs`: cold starts as production saw them, read from each function's CloudWatch logs.

Reading: Logs Insights queries (up to 50 log groups each, several at once) return the REPORT and
INIT_REPORT records of the window; where Insights is missing (the local emulator, a permission)
FilterLogEvents reads the same records group by group. Either way the records go through the
one REPORT parser (`lambda_logs`), text and JSON log formats alike.

Aggregating is pure (`summarize`): per function, invocations, cold starts, init percentiles,
warm and cold durations, and what init costs a month at the function's architecture's price.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from coldprof import lambda_facts, stats
from coldprof.aws import report as lambda_logs
from coldprof.errors import UsageError
from coldprof.progress import NoProgress, Progress

SCHEMA_VERSION = 1
DEFAULT_WINDOW_MS = 7 * 86_400_000
DAYS_PER_MONTH = 30
# The service's limits: log groups in one query, rows one query returns.
INSIGHTS_MAX_GROUPS = 50
INSIGHTS_MAX_ROWS = 10_000
# Well under the account's limit on concurrent Insights queries (30 by default), which other
# tools and people share.
INSIGHTS_CONCURRENCY = 4
INSIGHTS_TIMEOUT_S = 900.0
# A window whose records reach the row limit is split in two and read again, to this depth.
MAX_SPLITS = 12
INSIGHTS_QUERY = (
    "fields @timestamp, @log, @logStream, @message"
    " | filter @message like"
    " /REPORT RequestId:|INIT_REPORT|platform\\.report|platform\\.initReport/"
    " | sort @timestamp asc"
    f" | limit {INSIGHTS_MAX_ROWS}"
)
FILTER_PATTERN = '?"REPORT RequestId" ?"INIT_REPORT" ?"platform.report" ?"platform.initReport"'
_VERSION_IN_STREAM = re.compile(r"\[([^\]]+)\]")
# Insights is "not available" when the endpoint does not serve it or the caller may not use it.
_NO_INSIGHTS_CODES = frozenset(
    {
        "UnknownOperationException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
    }
)


class InsightsUnavailable(Exception):
    """Logs Insights cannot answer here: read the groups with FilterLogEvents instead."""


# -- the request and the result --------------------------------------------------------------
@dataclass(frozen=True)
class LogsRequest:
    """What `coldprof logs` was asked to read."""

    functions: tuple[str, ...] = ()
    all_functions: bool = False
    start_ms: int | None = None
    end_ms: int | None = None
    by: str | None = None  # "version" or "memory"
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    local: bool = False

    def window(self, now_ms: int) -> tuple[int, int]:
        end = self.end_ms if self.end_ms is not None else now_ms
        start = self.start_ms if self.start_ms is not None else end - DEFAULT_WINDOW_MS
        if start >= end:
            raise UsageError("the window is empty: --start must come before --end")
        return start, end


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles | None:
        if not values:
            return None
        return cls(
            round(stats.percentile(values, 50), 3),
            round(stats.percentile(values, 90), 3),
            round(stats.percentile(values, 99), 3),
            round(max(values), 3),
        )

    def to_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Percentiles | None:
        if not data:
            return None
        return cls(float(data["p50"]), float(data["p90"]), float(data["p99"]), float(data["max"]))


@dataclass(frozen=True)
class LogStats:
    """What one function's (or one version's, or one memory size's) reports add up to."""

    invocations: int = 0
    cold_starts: int = 0
    restores: int = 0  # SnapStart: Restore Duration instead of Init Duration
    init_ms: Percentiles | None = None
    restore_ms: Percentiles | None = None
    warm_duration_p50_ms: float | None = None
    cold_duration_p50_ms: float | None = None
    failed_inits: Mapping[str, int] = field(default_factory=dict)  # INIT_REPORT status -> count
    memory_sizes: tuple[int, ...] = ()
    versions: tuple[str, ...] = ()
    init_billed_gb_seconds: float = 0.0
    init_usd_per_month: float = 0.0

    @property
    def cold_start_rate(self) -> float:
        return self.cold_starts / self.invocations if self.invocations else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "cold_start_rate": round(self.cold_start_rate, 6),
            "restores": self.restores,
            "init_ms": self.init_ms.to_dict() if self.init_ms else None,
            "restore_ms": self.restore_ms.to_dict() if self.restore_ms else None,
            "warm_duration_p50_ms": self.warm_duration_p50_ms,
            "cold_duration_p50_ms": self.cold_duration_p50_ms,
            "failed_inits": dict(self.failed_inits),
            "memory_sizes": list(self.memory_sizes),
            "versions": list(self.versions),
            "init_billed_gb_seconds": self.init_billed_gb_seconds,
            "init_usd_per_month": self.init_usd_per_month,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogStats:
        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(
            invocations=int(data.get("invocations", 0)),
            cold_starts=int(data.get("cold_starts", 0)),
            restores=int(data.get("restores", 0)),
            init_ms=Percentiles.from_dict(data.get("init_ms")),
            restore_ms=Percentiles.from_dict(data.get("restore_ms")),
            warm_duration_p50_ms=number("warm_duration_p50_ms"),
            cold_duration_p50_ms=number("cold_duration_p50_ms"),
            failed_inits={str(k): int(v) for k, v in (data.get("failed_inits") or {}).items()},
            memory_sizes=tuple(int(m) for m in data.get("memory_sizes", ())),
            versions=tuple(str(v) for v in data.get("versions", ())),
            init_billed_gb_seconds=float(data.get("init_billed_gb_seconds", 0.0)),
            init_usd_per_month=float(data.get("init_usd_per_month", 0.0)),
        )


@dataclass(frozen=True)
class FunctionLogs:
    """One function: where its logs are, what they say, and (with --by) per group."""

    name: str
    log_group: str
    architecture: str
    stats: LogStats
    groups: tuple[tuple[str, LogStats], ...] = ()  # (version or memory, its stats)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "log_group": self.log_group,
            "architecture": self.architecture,
            **self.stats.to_dict(),
            "groups": [{"key": key, **value.to_dict()} for key, value in self.groups],
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionLogs:
        return cls(
            name=str(data["name"]),
            log_group=str(data.get("log_group", "")),
            architecture=str(data.get("architecture", "x86_64")),
            stats=LogStats.from_dict(data),
            groups=tuple((str(g["key"]), LogStats.from_dict(g)) for g in data.get("groups", ())),
            note=data.get("note"),
        )


@dataclass(frozen=True)
class LogsResult:
    """Every function read, costliest init first."""

    start_ms: int
    end_ms: int
    source: str  # "insights", "filter" or "insights+filter"
    by: str | None
    functions: tuple[FunctionLogs, ...]
    notes: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION
    kind: str = "logs"

    @property
    def window_days(self) -> float:
        return (self.end_ms - self.start_ms) / 86_400_000

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "source": self.source,
            "by": self.by,
            "functions": [f.to_dict() for f in self.functions],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogsResult:
        return cls(
            start_ms=int(data["start_ms"]),
            end_ms=int(data["end_ms"]),
            source=str(data.get("source", "")),
            by=data.get("by"),
            functions=tuple(FunctionLogs.from_dict(f) for f in data.get("functions", ())),
            notes=tuple(str(n) for n in data.get("notes", ())),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


# -- aggregating: pure -----------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One report read from a log, with the function version its stream names."""

    version: str
    report: lambda_logs.InvokeReport | None = None
    init_report: lambda_logs.InitReport | None = None


def version_of_stream(stream: str) -> str:
    """Lambda names streams date/[version]id; the version, or "?" for another name."""
    match = _VERSION_IN_STREAM.search(stream)
    return match.group(1) if match else "?"


def records_from_events(events: Iterable[tuple[str, str]]) -> list[Record]:
    """Reports in (log stream, message) events, each tagged with its stream's version."""
    records: list[Record] = []
    for stream, message in events:
        summary = lambda_logs.parse_log(message)
        version = version_of_stream(stream)
        records += [Record(version, report=r) for r in summary.reports]
        records += [Record(version, init_report=i) for i in summary.init_reports]
    return records


def summarize(records: Sequence[Record], architecture: str, window_days: float) -> LogStats:
    """The figures of one set of records. Init is billed at the architecture's GB-second price.

    INIT is billed for on-demand zip functions since 2025-08-01 (pricing.INIT_BILLED_FROM): each
    Init Duration, rounded up to a whole ms, and every failed init's duration too, at the
    function's memory size. The monthly figure scales the window to 30 days.
    """
    reports = [r.report for r in records if r.report is not None]
    inits = [r.init_report for r in records if r.init_report is not None]
    init_values = [r.init_ms for r in reports if r.init_ms is not None]
    restore_values = [r.restore_ms for r in reports if r.restore_ms is not None]
    cold = [r.duration_ms for r in reports if r.init_ms is not None or r.restore_ms is not None]
    warm = [r.duration_ms for r in reports if r.init_ms is None and r.restore_ms is None]
    failed: dict[str, int] = {}
    for init in inits:
        if init.status != "success":
            failed[init.status] = failed.get(init.status, 0) + 1
    # A failed init's INIT_REPORT names no memory size: charge it at the function's largest seen.
    memory_sizes = sorted({r.memory_mb for r in reports})
    fallback_memory = memory_sizes[-1] if memory_sizes else 128
    gb_seconds = sum(
        math.ceil(r.init_ms) / 1000 * r.memory_mb / 1024 for r in reports if r.init_ms is not None
    )
    gb_seconds += sum(
        math.ceil(i.init_ms) / 1000 * fallback_memory / 1024 for i in inits if i.status != "success"
    )
    price = lambda_facts.PRICE_PER_GB_SECOND_USD.get(
        architecture, lambda_facts.PRICE_PER_GB_SECOND_USD["x86_64"]
    )
    per_month = gb_seconds * price * DAYS_PER_MONTH / window_days if window_days > 0 else 0.0
    return LogStats(
        invocations=len(reports),
        cold_starts=len(init_values),
        restores=len(restore_values),
        init_ms=Percentiles.of(init_values),
        restore_ms=Percentiles.of(restore_values),
        warm_duration_p50_ms=round(stats.median(warm), 3) if warm else None,
        cold_duration_p50_ms=round(stats.median(cold), 3) if cold else None,
        failed_inits=failed,
        memory_sizes=tuple(memory_sizes),
        versions=tuple(sorted({r.version for r in records})),
        init_billed_gb_seconds=round(gb_seconds, 9),
        init_usd_per_month=per_month,
    )


def group_records(records: Sequence[Record], by: str) -> dict[str, list[Record]]:
    """Records by version, or by memory size (a failed init goes with its version's memory)."""
    groups: dict[str, list[Record]] = {}
    if by == "version":
        for record in records:
            groups.setdefault(record.version, []).append(record)
        return groups
    memory_of_version: dict[str, int] = {}
    for record in records:
        if record.report is not None:
            memory_of_version[record.version] = record.report.memory_mb
    for record in records:
        memory = (
            record.report.memory_mb
            if record.report is not None
            else memory_of_version.get(record.version)
        )
        groups.setdefault(f"{memory} MB" if memory else "?", []).append(record)
    return groups


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogTarget:
    """A function whose logs to read."""

    name: str
    log_group: str
    architecture: str = "x86_64"
    note: str | None = None


def _is_python(runtime: str | None) -> bool:
    return bool(runtime and runtime.startswith("python"))


def targets(request: LogsRequest, api: Any) -> list[LogTarget]:
    """The functions to read: named ones (their LoggingConfig's group), or every Python one."""
    from coldprof.aws.client import LambdaCallError

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
        groups = api.log_group_names("/aws/lambda/")
        return [LogTarget(g.removeprefix("/aws/lambda/"), g) for g in groups]
    raise UsageError("name the functions to read with --function NAME, or pass --all")


def read_with_filter(api: Any, target: LogTarget, start_ms: int, end_ms: int) -> list[Record]:
    """FilterLogEvents on one log group: every report in the window."""
    from coldprof.aws.client import LambdaCallError

    try:
        events = api.filter_log_events(target.log_group, start_ms, end_ms, FILTER_PATTERN)
    except LambdaCallError as e:
        if e.code == "ResourceNotFoundException":
            return []  # never invoked: no log group yet
        raise
    return records_from_events(
        (str(e.get("logStreamName", "")), str(e.get("message", ""))) for e in events
    )


class InsightsReader:
    """Logs Insights queries over batches of log groups; splits windows that hit the row limit."""

    def __init__(
        self,
        api: Any,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = 1.0,
        timeout_s: float = INSIGHTS_TIMEOUT_S,
    ) -> None:
        self.api = api
        self.sleep = sleep
        self.poll_s = poll_s
        self.timeout_s = timeout_s

    def read(self, groups: Sequence[str], start_ms: int, end_ms: int) -> dict[str, list[Record]]:
        """Records per log group, read in one query (or more, when the rows overflow)."""
        rows = self._rows(groups, start_ms, end_ms, depth=0)
        events: dict[str, list[tuple[str, str]]] = {g: [] for g in groups}
        for row in rows:
            group = row.get("@log", "")
            # @log is "account:group"; with one group queried it may be the bare name.
            name = group.split(":", 1)[1] if ":" in group else group
            if name not in events and len(groups) == 1:
                name = groups[0]
            events.setdefault(name, []).append((row.get("@logStream", ""), row.get("@message", "")))
        return {group: records_from_events(found) for group, found in events.items()}

    def _rows(
        self, groups: Sequence[str], start_ms: int, end_ms: int, depth: int
    ) -> list[dict[str, str]]:
        from coldprof.aws.client import LambdaCallError

        try:
            query_id = self.api.start_query(
                groups, start_ms, end_ms, INSIGHTS_QUERY, INSIGHTS_MAX_ROWS
            )
        except LambdaCallError as e:
            if e.code in _NO_INSIGHTS_CODES:
                raise InsightsUnavailable(f"Logs Insights is not available here ({e.code})") from e
            raise
        rows = self._wait(query_id)
        if len(rows) >= INSIGHTS_MAX_ROWS and depth < MAX_SPLITS and end_ms - start_ms > 1000:
            middle = (start_ms + end_ms) // 2
            return self._rows(groups, start_ms, middle, depth + 1) + self._rows(
                groups, middle, end_ms, depth + 1
            )
        return rows

    def _wait(self, query_id: str) -> list[dict[str, str]]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            response = self.api.query_results(query_id)
            status = str(response.get("status", ""))
            if status == "Complete":
                return [
                    {str(c.get("field")): str(c.get("value", "")) for c in row}
                    for row in response.get("results", [])
                ]
            if status not in ("Scheduled", "Running"):
                raise InsightsUnavailable(
                    f"a Logs Insights query ended {status or 'without status'}"
                )
            if time.monotonic() > deadline:
                raise InsightsUnavailable(f"a Logs Insights query ran past {self.timeout_s:.0f} s")
            self.sleep(self.poll_s)


def _batches(items: Sequence[LogTarget], size: int) -> list[list[LogTarget]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def read_logs(
    request: LogsRequest,
    api: Any,
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
        reader = insights or InsightsReader(api)
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


def parse_since(value: str) -> int:
    """`7d`, `12h`, `30m`, `90s` as milliseconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
    if not match:
        raise UsageError(f"--since {value!r}: expected a number and a unit, e.g. 7d, 12h, 30m")
    unit_ms = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
    return int(float(match.group(1)) * unit_ms[match.group(2)])


def parse_time(value: str, option: str) -> int:
    """An ISO 8601 time (UTC unless it says otherwise), or epoch seconds, as epoch ms."""
    import datetime

    text = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return int(float(text) * 1000)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise UsageError(f"{option} {value!r}: not an ISO 8601 time or epoch seconds") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)
