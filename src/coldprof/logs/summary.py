"""Pure: REPORT records per function summed up to cold starts, init percentiles and init's cost."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from coldprof import lambda_facts, stats
from coldprof.aws.report import InitReport, InvokeReport, parse_log
from coldprof.results.logs import LogStats, Percentiles

DAYS_PER_MONTH = 30
_VERSION_IN_STREAM = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class Record:
    """One report read from a log, with the function version its stream names."""

    version: str
    report: InvokeReport | None = None
    init_report: InitReport | None = None


def version_of_stream(stream: str) -> str:
    """Lambda names streams date/[version]id; the version, or "?" for another name."""
    match = _VERSION_IN_STREAM.search(stream)
    return match.group(1) if match else "?"


def records_from_events(events: Iterable[tuple[str, str]]) -> list[Record]:
    """Reports in (log stream, message) events, each tagged with its stream's version."""
    records: list[Record] = []
    for stream, message in events:
        summary = parse_log(message)
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
