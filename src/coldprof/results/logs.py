"""The records of `coldprof logs` (per-function cold-start figures) and their JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coldprof import stats
from coldprof.results.serial import JSONObject, JSONValue, fields_dict, optional_float

# The version of the logs result's JSON; `from_dict` reads every version up to it.
SCHEMA_VERSION = 1


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

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

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

    # The saved order, the rate computed from the counts beside them.
    _KEYS = (
        "invocations", "cold_starts", "cold_start_rate", "restores", "init_ms", "restore_ms",
        "warm_duration_p50_ms", "cold_duration_p50_ms", "failed_inits", "memory_sizes", "versions",
        "init_billed_gb_seconds", "init_usd_per_month",
    )  # fmt: skip

    def to_dict(self) -> JSONObject:
        failed_inits: JSONObject = dict(self.failed_inits)
        return fields_dict(
            self,
            self._KEYS,
            cold_start_rate=round(self.cold_start_rate, 6),
            failed_inits=failed_inits,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogStats:
        return cls(
            invocations=int(data.get("invocations", 0)),
            cold_starts=int(data.get("cold_starts", 0)),
            restores=int(data.get("restores", 0)),
            init_ms=Percentiles.from_dict(data.get("init_ms")),
            restore_ms=Percentiles.from_dict(data.get("restore_ms")),
            warm_duration_p50_ms=optional_float(data, "warm_duration_p50_ms"),
            cold_duration_p50_ms=optional_float(data, "cold_duration_p50_ms"),
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

    def to_dict(self) -> JSONObject:
        # The function's figures sit beside its name; each group's beside its key.
        groups: list[JSONValue] = [{"key": key, **value.to_dict()} for key, value in self.groups]
        return {
            **fields_dict(self, ("name", "log_group", "architecture")),
            **self.stats.to_dict(),
            **fields_dict(self, ("groups", "note"), groups=groups),
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

    # The saved order: the schema's version and kind first.
    _KEYS = ("schema_version", "kind", "start_ms", "end_ms", "source", "by", "functions", "notes")

    def to_dict(self) -> JSONObject:
        return fields_dict(self, self._KEYS)

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
