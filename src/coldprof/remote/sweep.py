"""The remote sweep: force cold starts per memory tier on a function, restore it, correlate."""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import io
import json
import math
import os
import re
import secrets
import shlex
import signal
import stat
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from coldprof import stats
from coldprof.aws.report import InitReport, InvokeReport, find_report, parse_log
from coldprof.errors import AwsError, BuildError, ColdprofError, UsageError
from coldprof.lambda_facts import (
    DEFAULT_TIERS,
    MAX_MEMORY_MB,
    MIN_MEMORY_MB,
    PRICE_PER_GB_SECOND_USD,
    UNZIPPED_LIMIT_BYTES,
    ZIPPED_LIMIT_BYTES,
)
from coldprof.pricing import cost_per_million_usd, init_is_billed
from coldprof.progress import NoProgress, Progress

if TYPE_CHECKING:
    from coldprof.aws.client import FunctionConfig, Invocation, LambdaApi
    from coldprof.build.package import FunctionSource

SCHEMA_VERSION = 1
NONCE_VARIABLE = "COLDPROF_NONCE"
# A tier is recommended when its cold penalty is within this fraction of the best tier's.
PENALTY_TOLERANCE = 0.10
DEPLOY_TIMEOUT_S = 30
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/coldprof-local"
ARCHITECTURES = ("x86_64", "arm64")
# What the confirmation prompt assumes an invocation bills before anything is measured.
ASSUMED_COLD_BILLED_MS = 1_000
ASSUMED_WARM_BILLED_MS = 100
# Correlations over fewer points than this carry a caveat.
FIRM_N = 10
FIRM_DISTINCT_X = 4
MIB = 1024 * 1024
PACKAGE_UNIT_BYTES = 100 * MIB

T = TypeVar("T")


# -- the request ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteRequest:
    """What `coldprof remote` was asked to do."""

    arns: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    memory_tiers: tuple[int, ...] = DEFAULT_TIERS
    samples: int = 5
    warm: int = 2
    payload: bytes = b"{}"
    concurrency: int = 1
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    role: str | None = None
    keep: bool = False
    architecture: str = "x86_64"
    runtime: str | None = None
    handler: str | None = None
    follow_symlinks: bool = False  # deploy what links leaving the folder point at
    # For deployed function directories: variables over the template's, and layer folders
    # (like /opt) added after the template's own.
    env: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[Path, ...] = ()
    function: str | None = None  # a project's function, by logical id or serverless name
    parameters: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.arns and not self.paths:
            raise UsageError("nothing to profile: pass function directories or --arn ARN")
        if self.arns and self.paths:
            raise UsageError("pass either function directories or --arn, not both")
        if not self.memory_tiers:
            raise UsageError("--memory: give at least one memory size")
        for memory in self.memory_tiers:
            if not MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB:
                raise UsageError(
                    f"--memory {memory}: Lambda allows {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MB"
                )
        if len(set(self.memory_tiers)) != len(self.memory_tiers):
            raise UsageError("--memory: a memory size is listed twice")
        if self.samples < 1 or self.concurrency < 1 or self.warm < 0:
            raise UsageError("--samples and --concurrency must be at least 1, --warm at least 0")
        if self.architecture not in ARCHITECTURES:
            raise UsageError(f"--architecture {self.architecture}: expected x86_64 or arm64")
        if self.runtime is not None and not re.fullmatch(r"python3\.\d+", self.runtime):
            raise UsageError(f"--runtime {self.runtime}: expected python3.N, e.g. python3.12")
        if self.paths and not self.role and not self.against_emulator:
            raise UsageError(
                "deploying a function directory needs --role ROLE_ARN",
                hint="the execution role the temporary function runs as; an emulator needs none",
            )
        if self.arns and (self.env or self.layers or self.function):
            raise UsageError(
                "--env, --layer and --function are for function directories remote deploys",
                hint="a deployed function keeps its own environment and layers",
            )
        for layer in self.layers:
            if not layer.is_dir():
                raise UsageError(f"--layer {layer}: not a directory")
        if self.local and self.endpoint_url:
            raise UsageError("pass either --local or --endpoint-url, not both")
        for arn in self.arns:
            if re.match(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+:", arn):
                raise UsageError(
                    f"--arn {arn}: coldprof sweeps the unpublished $LATEST version",
                    hint="pass the ARN without its version or alias",
                )
        if self.local and self.arns:
            raise UsageError(
                "--local starts an empty emulator, which holds no function to --arn",
                hint="pass function directories with --local, or --endpoint-url of a running "
                "`coldprof emulator`",
            )
        try:
            json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise UsageError(f"--payload is not valid JSON: {e}") from e

    @property
    def against_emulator(self) -> bool:
        """--local, or an endpoint on this machine: nothing is billed and any role will do."""
        from coldprof.aws.client import Connection

        connection = Connection.from_options(self.region, self.profile, self.endpoint_url)
        return self.local or connection.is_local

    @property
    def rounds_per_tier(self) -> int:
        """Configuration updates per tier: each one yields up to `concurrency` cold starts."""
        return math.ceil(self.samples / self.concurrency)


# -- records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One invocation's REPORT figures; `init_ms` (or `restore_ms`, SnapStart) marks a cold one.

    An invocation whose init failed (INIT_REPORT Phase: init) and was retried inside it carries
    that init's status and duration instead: its REPORT has no Init Duration, and its Duration
    includes the retried init. It is neither a normal cold start nor a warm one.
    """

    request_id: str
    duration_ms: float
    billed_ms: float
    max_memory_mb: int
    init_ms: float | None = None
    restore_ms: float | None = None
    billed_restore_ms: float | None = None
    failed_init_status: str | None = None  # "timeout" or "error": init was retried in the invoke
    failed_init_ms: float | None = None  # how long the failed init ran before the retry

    @property
    def cold(self) -> bool:
        return self.init_ms is not None or self.restore_ms is not None

    @property
    def retried_init(self) -> bool:
        return self.failed_init_status is not None

    @property
    def retried_wait_ms(self) -> float:
        """What the caller waited: the failed init, then the invoke with the retried init."""
        return (self.failed_init_ms or 0.0) + self.duration_ms

    @property
    def startup_ms(self) -> float:
        """What the environment's start took: Init Duration, or Restore Duration for SnapStart."""
        return self.init_ms if self.init_ms is not None else (self.restore_ms or 0.0)

    @classmethod
    def of(cls, report: InvokeReport) -> Sample:
        return cls(
            request_id=report.request_id,
            duration_ms=report.duration_ms,
            billed_ms=report.billed_ms,
            max_memory_mb=report.max_memory_mb,
            init_ms=report.init_ms,
            restore_ms=report.restore_ms,
            billed_restore_ms=report.billed_restore_ms,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "init_ms": self.init_ms,
            "duration_ms": self.duration_ms,
            "billed_ms": self.billed_ms,
            "max_memory_mb": self.max_memory_mb,
            "request_id": self.request_id,
        }
        if self.restore_ms is not None:
            data["restore_ms"] = self.restore_ms
            data["billed_restore_ms"] = self.billed_restore_ms
        if self.failed_init_status is not None:
            data["failed_init_status"] = self.failed_init_status
            data["failed_init_ms"] = self.failed_init_ms
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        return cls(
            request_id=str(data.get("request_id", "")),
            duration_ms=float(data.get("duration_ms", 0.0)),
            billed_ms=float(data.get("billed_ms", 0.0)),
            max_memory_mb=int(data.get("max_memory_mb", 0)),
            init_ms=_optional_float(data.get("init_ms")),
            restore_ms=_optional_float(data.get("restore_ms")),
            billed_restore_ms=_optional_float(data.get("billed_restore_ms")),
            failed_init_status=data.get("failed_init_status"),
            failed_init_ms=_optional_float(data.get("failed_init_ms")),
        )


@dataclass(frozen=True)
class InvokeFailure:
    """An invocation that yielded no usable sample: a failed init, a function error, no REPORT."""

    phase: str  # "init", "invoke" or "report"
    error_type: str | None
    message: str  # free of environment values
    request_id: str | None = None
    init_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "error_type": self.error_type,
            "message": self.message,
            "request_id": self.request_id,
            "init_ms": self.init_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InvokeFailure:
        return cls(
            phase=str(data.get("phase", "invoke")),
            error_type=data.get("error_type"),
            message=str(data.get("message", "")),
            request_id=data.get("request_id"),
            init_ms=_optional_float(data.get("init_ms")),
        )


@dataclass(frozen=True)
class TierResult:
    """One memory size: its cold and warm samples and what they add up to."""

    memory_mb: int
    cold: tuple[Sample, ...] = ()
    warm: tuple[Sample, ...] = ()
    init_median_ms: float | None = None
    init_p90_ms: float | None = None
    warm_median_ms: float | None = None
    cold_penalty_ms: float | None = None
    cost_cold_usd_per_million: float | None = None
    cost_warm_usd_per_million: float | None = None
    failures: tuple[InvokeFailure, ...] = ()
    error: str | None = None  # the tier could not be set up at all
    notes: tuple[str, ...] = ()
    retried: tuple[Sample, ...] = ()  # cold starts whose init failed and was retried in the invoke
    retried_penalty_ms: float | None = None  # their median cold penalty, the failed init included

    def to_dict(self) -> dict[str, Any]:
        return {
            "memory_mb": self.memory_mb,
            "cold": [s.to_dict() for s in self.cold],
            "warm": [s.to_dict() for s in self.warm],
            "retried": [s.to_dict() for s in self.retried],
            "retried_cold_penalty_ms": self.retried_penalty_ms,
            "init_ms": {"median": self.init_median_ms, "p90": self.init_p90_ms},
            "warm_duration_ms": {"median": self.warm_median_ms},
            "cold_penalty_ms": self.cold_penalty_ms,
            "cost_usd_per_million": {
                "cold": self.cost_cold_usd_per_million,
                "warm": self.cost_warm_usd_per_million,
            },
            "failures": [f.to_dict() for f in self.failures],
            "error": self.error,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierResult:
        init = data.get("init_ms") or {}
        cost = data.get("cost_usd_per_million") or {}
        return cls(
            memory_mb=int(data.get("memory_mb", 0)),
            cold=tuple(Sample.from_dict(s) for s in data.get("cold", ())),
            warm=tuple(Sample.from_dict(s) for s in data.get("warm", ())),
            init_median_ms=_optional_float(init.get("median")),
            init_p90_ms=_optional_float(init.get("p90")),
            warm_median_ms=_optional_float((data.get("warm_duration_ms") or {}).get("median")),
            cold_penalty_ms=_optional_float(data.get("cold_penalty_ms")),
            cost_cold_usd_per_million=_optional_float(cost.get("cold")),
            cost_warm_usd_per_million=_optional_float(cost.get("warm")),
            failures=tuple(InvokeFailure.from_dict(f) for f in data.get("failures", ())),
            error=data.get("error"),
            notes=tuple(str(n) for n in data.get("notes", ())),
            retried=tuple(Sample.from_dict(s) for s in data.get("retried", ())),
            retried_penalty_ms=_optional_float(data.get("retried_cold_penalty_ms")),
        )


@dataclass(frozen=True)
class FunctionResult:
    """One function's sweep, and whether it was left exactly as it was found."""

    arn: str
    name: str
    runtime: str | None
    architecture: str
    package_type: str
    code_size_bytes: int
    original_memory_mb: int
    restored: bool
    tiers: tuple[TierResult, ...] = ()
    environment_names: tuple[str, ...] = ()  # names only: values are never stored
    package_unzipped_bytes: int | None = None  # deploys: the local package
    source_path: str | None = None
    deployed: bool = False
    deleted: bool | None = None
    restore_command: str | None = None
    delete_command: str | None = None
    recommended_memory_mb: int | None = None
    recommendation: str | None = None
    error: str | None = None
    # --local: the Init Duration coldprof estimates for Lambda (estimate.LambdaEstimate as a
    # dict), beside the emulator's, which is this machine's.
    lambda_estimate: Mapping[str, Any] | None = None
    # The Python that really ran it, where the endpoint says (coldprof's emulator does); None
    # on AWS, where the runtime is what Runtime names.
    python: str | None = None

    @property
    def failed(self) -> bool:
        """True when the function could not be measured at some tier, or not put back."""
        return (
            not self.restored
            or self.error is not None
            or self.delete_command is not None
            or any(not t.cold for t in self.tiers)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "runtime": self.runtime,
            "architecture": self.architecture,
            "package_type": self.package_type,
            "code_size_bytes": self.code_size_bytes,
            "package_unzipped_bytes": self.package_unzipped_bytes,
            "original_memory_mb": self.original_memory_mb,
            "environment_names": list(self.environment_names),
            "restored": self.restored,
            "restore_command": self.restore_command,
            "source_path": self.source_path,
            "deployed": self.deployed,
            "deleted": self.deleted,
            "delete_command": self.delete_command,
            "tiers": [t.to_dict() for t in self.tiers],
            "recommended_memory_mb": self.recommended_memory_mb,
            "recommendation": self.recommendation,
            "error": self.error,
            "lambda_estimate": dict(self.lambda_estimate) if self.lambda_estimate else None,
            "python": self.python,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionResult:
        unzipped = data.get("package_unzipped_bytes")
        recommended = data.get("recommended_memory_mb")
        return cls(
            arn=str(data.get("arn", "")),
            name=str(data.get("name", "")),
            runtime=data.get("runtime"),
            architecture=str(data.get("architecture", "x86_64")),
            package_type=str(data.get("package_type", "Zip")),
            code_size_bytes=int(data.get("code_size_bytes", 0)),
            original_memory_mb=int(data.get("original_memory_mb", 0)),
            restored=bool(data.get("restored", False)),
            tiers=tuple(TierResult.from_dict(t) for t in data.get("tiers", ())),
            environment_names=tuple(str(n) for n in data.get("environment_names", ())),
            package_unzipped_bytes=int(unzipped) if unzipped is not None else None,
            source_path=data.get("source_path"),
            deployed=bool(data.get("deployed", False)),
            deleted=data.get("deleted"),
            restore_command=data.get("restore_command"),
            delete_command=data.get("delete_command"),
            recommended_memory_mb=int(recommended) if recommended is not None else None,
            recommendation=data.get("recommendation"),
            error=data.get("error"),
            lambda_estimate=data.get("lambda_estimate") or None,
            python=data.get("python"),
        )


@dataclass(frozen=True)
class Relation:
    """How one figure moves with another: rank correlation and a least-squares slope."""

    x: str
    y: str
    slope_unit: str
    controls_for: str
    n: int
    groups: int
    spearman: float | None
    slope: float | None
    caveat: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "y": self.y,
            "controls_for": self.controls_for,
            "n": self.n,
            "groups": self.groups,
            "spearman": self.spearman,
            "slope": self.slope,
            "slope_unit": self.slope_unit,
            "caveat": self.caveat,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Relation:
        return cls(
            x=str(data.get("x", "")),
            y=str(data.get("y", "")),
            slope_unit=str(data.get("slope_unit", "")),
            controls_for=str(data.get("controls_for", "")),
            n=int(data.get("n", 0)),
            groups=int(data.get("groups", 0)),
            spearman=_optional_float(data.get("spearman")),
            slope=_optional_float(data.get("slope")),
            caveat=data.get("caveat"),
        )


RELATION_NAMES = (
    "init_vs_memory",
    "init_vs_package_size",
    "cold_penalty_vs_memory",
    "cold_penalty_vs_package_size",
)


@dataclass(frozen=True)
class Correlation:
    """Across tiers and functions: Init Duration and the cold penalty against memory and size."""

    init_vs_memory: Relation
    init_vs_package_size: Relation
    cold_penalty_vs_memory: Relation
    cold_penalty_vs_package_size: Relation
    package_size_measure: str  # "unzipped" (local packages) or "code_size" (Lambda's CodeSize)

    def relations(self) -> list[tuple[str, Relation]]:
        return [(name, getattr(self, name)) for name in RELATION_NAMES]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"package_size_measure": self.package_size_measure}
        data.update({name: relation.to_dict() for name, relation in self.relations()})
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Correlation:
        return cls(
            **{name: Relation.from_dict(data.get(name) or {}) for name in RELATION_NAMES},
            package_size_measure=str(data.get("package_size_measure", "code_size")),
        )


@dataclass(frozen=True)
class RemoteResult:
    """The outcome of `coldprof remote`."""

    functions: tuple[FunctionResult, ...]
    correlation: Correlation
    memory_tiers: tuple[int, ...]
    samples: int
    warm: int
    concurrency: int
    local: bool
    endpoint_url: str | None = None
    created_at: str = ""
    interrupted: bool = False
    schema_version: int = SCHEMA_VERSION
    # With --local, what ran the handlers in the embedded emulator (awslambdaric, or coldprof's
    # stand-in where awslambdaric cannot install); None for a remote endpoint, which says nothing.
    runtime_client: str | None = None

    kind = "remote"

    @property
    def restored(self) -> bool:
        return all(f.restored for f in self.functions)

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.functions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "created_at": self.created_at,
            "local": self.local,
            "endpoint_url": self.endpoint_url,
            "settings": {
                "memory_mb": list(self.memory_tiers),
                "samples": self.samples,
                "warm": self.warm,
                "concurrency": self.concurrency,
            },
            "interrupted": self.interrupted,
            "runtime_client": self.runtime_client,
            "functions": [f.to_dict() for f in self.functions],
            "correlation": self.correlation.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteResult:
        settings = data.get("settings") or {}
        return cls(
            functions=tuple(FunctionResult.from_dict(f) for f in data.get("functions", ())),
            correlation=Correlation.from_dict(data.get("correlation") or {}),
            memory_tiers=tuple(int(m) for m in settings.get("memory_mb", ())),
            samples=int(settings.get("samples", 0)),
            warm=int(settings.get("warm", 0)),
            concurrency=int(settings.get("concurrency", 1)),
            local=bool(data.get("local", False)),
            endpoint_url=data.get("endpoint_url"),
            created_at=str(data.get("created_at", "")),
            interrupted=bool(data.get("interrupted", False)),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            runtime_client=data.get("runtime_client"),
        )


@dataclass(frozen=True)
class Estimate:
    """What a run against real AWS will do and roughly cost, shown before it starts."""

    functions: int
    updates: int
    invocations: int
    cost_usd: float
    max_cost_usd: float

    def describe(self) -> str:
        return (
            f"coldprof will update the configuration {self.updates} times and make "
            f"{self.invocations} invocations on {self.functions} function(s) in AWS; "
            f"estimated cost {_usd(self.cost_usd)} (assuming {ASSUMED_COLD_BILLED_MS} ms per "
            f"cold and {ASSUMED_WARM_BILLED_MS} ms per warm invocation; at most "
            f"{_usd(self.max_cost_usd)} if every invocation ran to its timeout)."
        )


def _embedded_runtime_client() -> str:
    from coldprof.runner.environment import default_runtime_client, runtime_client_label

    return runtime_client_label(default_runtime_client())


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the run; every function touched was restored (or reported)."""

    def __init__(self, result: RemoteResult, signal_name: str) -> None:
        super().__init__(signal_name)
        self.result = result
        self.signal_name = signal_name


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C so that `finally` blocks run."""


# -- signals -------------------------------------------------------------------------------------
class SignalGuard:
    """Turns the first SIGINT or SIGTERM into an exception; holds later ones while restoring.

    A second Ctrl-C must not abort the restore the first one triggered, so inside `holding()`
    signals are only recorded, and the caller asks `take_pending()` once it is safe to stop.
    The third signal held gives up on the restore, which is then reported with the command that
    would finish it.
    """

    ESCAPE_AFTER = 3

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._raised = False
        self._holding = 0
        self._held = 0
        self.received: list[int] = []

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            names = ("SIGINT", "SIGTERM", "SIGHUP")  # Windows has no SIGHUP
            for signum in (getattr(signal, n) for n in names if hasattr(signal, n)):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._holding:
            self._held += 1
            if self._held < self.ESCAPE_AFTER:
                return
        elif self._raised:
            return
        self._raised = True
        raise _exception_for(signum)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Signals arriving inside are recorded, not raised (up to ESCAPE_AFTER of them)."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                self._held = 0

    def take_pending(self) -> bool:
        """True, once, when a signal arrived while held and has not been acted on yet."""
        if self.received and not self._raised:
            self._raised = True
            return True
        return False

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.received[0]).name if self.received else "SIGINT"


def _exception_for(signum: int) -> KeyboardInterrupt:
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    return Terminated(signal.Signals(signum).name)


# -- the run -------------------------------------------------------------------------------------
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


def run_remote(
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
    from coldprof.aws.client import Connection, LambdaApi, Redactor, region_of_arn

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
    snapshots: list[FunctionConfig] = []
    if request.paths:
        plans = [_plan_deploy(path, request, progress) for path in request.paths]
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
                        done = _deploy_and_sweep(api_for(None), plan, request, progress, guard)
                    except (AwsError, BuildError) as e:
                        # One function that cannot be deployed does not stop the others.
                        done = _undeployed(plan, request, e)
                    results.append(done)
            else:
                for early in snapshots:
                    api = api_for(early.region)
                    # Read again right before changing anything: time passed at the prompt,
                    # and an update in progress must land before its result is the snapshot.
                    api.wait_updated(early.arn)
                    snapshot = api.snapshot(early.arn)
                    done = _sweep_function(api, snapshot, request, progress, guard)
                    results.append(done)
        except _FunctionInterrupted as e:
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


class _FunctionInterrupted(Exception):
    """Carries the restored (or not) function out of an interrupted sweep."""

    def __init__(self, result: FunctionResult) -> None:
        super().__init__(result.name)
        self.result = result


def estimate_run(request: RemoteRequest, snapshots: Sequence[FunctionConfig]) -> Estimate:
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


# -- one function --------------------------------------------------------------------------------
def _sweep_function(
    api: LambdaApi,
    snapshot: FunctionConfig,
    request: RemoteRequest,
    progress: Progress,
    guard: SignalGuard,
    *,
    deployed: DeployPlan | None = None,
) -> FunctionResult:
    """Every tier on one function, then its configuration put back, whatever happened.

    Raises _FunctionInterrupted (after restoring) when a signal stopped the sweep.
    """
    tiers: list[TierResult] = []
    error: str | None = None
    interrupted = False
    outcome = RestoreOutcome(False, None)
    try:
        try:
            for memory in request.memory_tiers:
                # A loop, not extend(): an interrupt must keep the tiers already measured.
                tier = _sweep_tier(api, snapshot, memory, request, progress)
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
    result = _function_result(snapshot, tiers, outcome, error, deployed)
    if interrupted:
        raise _FunctionInterrupted(result)
    return result


def _function_result(
    snapshot: FunctionConfig,
    tiers: Sequence[TierResult],
    outcome: RestoreOutcome,
    error: str | None,
    deployed: DeployPlan | None,
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
        package_unzipped_bytes=deployed.unzipped_bytes if deployed else None,
        source_path=str(deployed.path) if deployed else None,
        deployed=deployed is not None,
        recommended_memory_mb=recommended,
        recommendation=reason,
        error=error,
    )


@dataclass(frozen=True)
class RestoreOutcome:
    restored: bool
    command: str | None  # set when not restored: the AWS CLI command that restores it
    reason: str | None = None


def restore(api: LambdaApi, snapshot: FunctionConfig) -> RestoreOutcome:
    """Put back memory, environment (dropping the nonce), description and timeout, and verify."""
    try:
        api.update_configuration(
            snapshot.arn,
            memory_mb=snapshot.memory_mb,
            environment=dict(snapshot.environment or {}),
            description=snapshot.description,
            timeout_s=snapshot.timeout_s,
        )
        now = api.snapshot(snapshot.arn)
        differing = snapshot.differing_settings(now)
        if not differing:
            return RestoreOutcome(True, None)
        reason = f"after the restore, {', '.join(differing)} still differ"
    except (ColdprofError, KeyboardInterrupt) as e:
        reason = e.message if isinstance(e, ColdprofError) else "the restore was interrupted"
    return RestoreOutcome(False, restore_command(api, snapshot), reason)


def restore_command(api: LambdaApi, snapshot: FunctionConfig) -> str:
    """The `aws lambda update-function-configuration` command that restores `snapshot`.

    Variable values never appear in it: they go to a 0600 file under the cache directory,
    which the command names with `file://`.
    """
    if snapshot.environment:
        try:
            environment = f"file://{_write_environment_file(snapshot)}"
        except OSError as e:
            environment = f"file://UNWRITTEN ({e.strerror or e}: variable names "
            environment += f"{', '.join(snapshot.environment_names)})"
    else:
        environment = '{"Variables":{}}'
    parts = [
        "aws",
        "lambda",
        "update-function-configuration",
        "--function-name",
        snapshot.arn,
        "--memory-size",
        str(snapshot.memory_mb),
        "--timeout",
        str(snapshot.timeout_s),
        "--description",
        snapshot.description,
        "--environment",
        environment,
        "--region",
        snapshot.region,
    ]
    connection = api.connection
    if connection.profile:
        parts += ["--profile", connection.profile]
    if connection.endpoint_url:
        parts += ["--endpoint-url", connection.endpoint_url]
    return shlex.join(parts)


def _write_environment_file(snapshot: FunctionConfig) -> Path:
    from coldprof.build.package import cache_root

    directory = cache_root() / "restore"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = directory / f"{_safe_name(snapshot.name)}-{stamp}-{secrets.token_hex(3)}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"Variables": dict(snapshot.environment or {})}, handle)
    return path.resolve()


# -- one tier ------------------------------------------------------------------------------------
def _sweep_tier(
    api: LambdaApi,
    snapshot: FunctionConfig,
    memory_mb: int,
    request: RemoteRequest,
    progress: Progress,
) -> TierResult:
    """Cold starts at one memory size, `concurrency` per configuration update, then warm ones."""
    from coldprof.aws.client import LambdaCallError

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
            # A new nonce each round: any configuration change retires the warm environments.
            environment = {**(snapshot.environment or {}), NONCE_VARIABLE: secrets.token_hex(8)}
            try:
                api.update_configuration(snapshot.arn, memory_mb=memory_mb, environment=environment)
            except LambdaCallError as e:
                if e.affects_whole_function:
                    raise
                return _tier_result(
                    snapshot, memory_mb, cold, warm, failures, notes, retried, error=e.message
                )
            outcomes = run_parallel([lambda: api.invoke(snapshot.arn, request.payload)] * batch)
            started_warm = 0
            not_cold = 0
            for outcome in outcomes:
                progress.advance()
                sample, failure = _outcome(api, snapshot, outcome)
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
                sample, failure = _outcome(api, snapshot, outcome)
                if failure is not None:
                    failures.append(failure)
                if sample is not None:
                    (retried if sample.retried_init else cold if sample.cold else warm).append(
                        sample
                    )
    finally:
        progress.finish()
    return _tier_result(snapshot, memory_mb, cold, warm, failures, notes, retried)


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


def _outcome(
    api: LambdaApi, snapshot: FunctionConfig, outcome: Invocation | BaseException
) -> tuple[Sample | None, InvokeFailure | None]:
    """An invoke's sample (from its REPORT) and/or its failure."""
    from coldprof.aws.client import LambdaCallError

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
            text = api.logs_for_request(
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


def _looks_like_init_error(outcome: Invocation, report: InvokeReport | None) -> bool:
    if outcome.error_type in _INIT_ERROR_TYPES or (outcome.error_type or "").startswith("Init"):
        return True
    return report is not None and report.init_ms is None and (report.status or "") == "error"


def _tier_result(
    snapshot: FunctionConfig,
    memory_mb: int,
    cold: Sequence[Sample],
    warm: Sequence[Sample],
    failures: Sequence[InvokeFailure],
    notes: Sequence[str],
    retried: Sequence[Sample] = (),
    error: str | None = None,
) -> TierResult:
    architecture = (
        snapshot.architecture if snapshot.architecture in PRICE_PER_GB_SECOND_USD else "x86_64"
    )
    startups = [s.startup_ms for s in cold]
    warm_median = stats.median(s.duration_ms for s in warm) if warm else None
    penalty = None
    if cold and warm_median is not None:
        penalty = stats.median(s.startup_ms + s.duration_ms for s in cold) - warm_median
    retried_penalty = None
    if retried and warm_median is not None:
        retried_penalty = stats.median(s.retried_wait_ms for s in retried) - warm_median
    cost_cold = None
    if cold:
        cost_cold = stats.median(
            cost_per_million_usd(
                s.billed_ms + (s.billed_restore_ms or 0.0),
                memory_mb,
                architecture,
                init_billed_ms=init_charge_ms(s, snapshot.package_type),
            )
            for s in cold
        )
    cost_warm = None
    if warm:
        cost_warm = cost_per_million_usd(
            stats.median(s.billed_ms for s in warm), memory_mb, architecture
        )
    return TierResult(
        memory_mb=memory_mb,
        cold=tuple(cold),
        warm=tuple(warm),
        init_median_ms=_round(stats.median(startups)) if startups else None,
        init_p90_ms=_round(stats.percentile(startups, 90)) if startups else None,
        warm_median_ms=_round(warm_median),
        cold_penalty_ms=_round(penalty),
        cost_cold_usd_per_million=_round(cost_cold, 4),
        cost_warm_usd_per_million=_round(cost_warm, 4),
        failures=tuple(failures),
        error=error,
        notes=tuple(dict.fromkeys(notes)),
        retried=tuple(retried),
        retried_penalty_ms=_round(retried_penalty),
    )


def init_charge_ms(sample: Sample, package_type: str = "Zip") -> float:
    """The init time to bill on top of a cold sample's Billed Duration, in whole ms.

    Since 2025-08-01 Lambda bills INIT for on-demand zip functions, and REPORT lines from then on
    already fold it into Billed Duration (Duration 12.68 + Init 295.33 → Billed 309). Charging it
    again would count it twice, so INIT is added only when Billed Duration visibly leaves it out
    (older lines, and emulators that print the pre-2025 format) and `init_is_billed` says
    Lambda charges it.
    """
    if sample.init_ms is None:
        return 0.0
    if sample.billed_ms + 1 >= sample.duration_ms + sample.init_ms:
        return 0.0  # already billed
    package = "Image" if package_type.lower() == "image" else "Zip"
    return float(math.ceil(sample.init_ms)) if init_is_billed(package) else 0.0


def recommend_tier(tiers: Sequence[TierResult]) -> tuple[int | None, str | None]:
    """The cheapest tier whose cold penalty is within PENALTY_TOLERANCE of the best one.

    "Cheapest" is the cost per million warm invocations (cold ones where no warm were taken):
    most invocations are warm, so that is what a memory size costs day to day.
    """
    # Only tiers where every run worked: a tier that failed even once (or whose init had to be
    # retried) is not one to move a function to.
    measured = [
        t for t in tiers if t.cold_penalty_ms is not None and not t.failures and not t.retried
    ]
    if not measured:
        return None, None
    best = min(measured, key=lambda t: (t.cold_penalty_ms or 0.0, t.memory_mb))
    best_penalty = best.cold_penalty_ms or 0.0
    limit = best_penalty + PENALTY_TOLERANCE * abs(best_penalty)
    candidates = [t for t in measured if (t.cold_penalty_ms or 0.0) <= limit]

    def cost(tier: TierResult) -> float:
        value = tier.cost_warm_usd_per_million
        if value is None:
            value = tier.cost_cold_usd_per_million
        return value if value is not None else math.inf

    chosen = min(candidates, key=lambda t: (cost(t), t.memory_mb))
    reason = (
        f"{chosen.memory_mb} MB: the cheapest tier whose cold penalty "
        f"({chosen.cold_penalty_ms:,.0f} ms) is within {PENALTY_TOLERANCE:.0%} of the best "
        f"({best_penalty:,.0f} ms at {best.memory_mb} MB)"
    )
    return chosen.memory_mb, reason


# -- correlation ---------------------------------------------------------------------------------
def correlate(functions: Sequence[FunctionResult]) -> Correlation:
    """Init Duration and the cold penalty against memory (within each function) and against
    package size (within each memory tier).

    Comparing within groups keeps the two from confounding each other: across functions, a
    bigger package would otherwise pass for a memory effect when tiers differ, and vice versa.
    Slopes are pooled least squares on the within-group deviations; Spearman is computed on the
    same deviations.
    """
    use_unzipped = bool(functions) and all(f.package_unzipped_bytes is not None for f in functions)
    measure = "unzipped" if use_unzipped else "code_size"

    def size_of(function: FunctionResult) -> float:
        size = function.package_unzipped_bytes if use_unzipped else function.code_size_bytes
        return float(size or 0) / PACKAGE_UNIT_BYTES

    init_memory: list[tuple[str, float, float]] = []
    penalty_memory: list[tuple[str, float, float]] = []
    init_size: list[tuple[str, float, float]] = []
    penalty_size: list[tuple[str, float, float]] = []
    for function in functions:
        for tier in function.tiers:
            memory_x = math.log2(tier.memory_mb)
            tier_key = str(tier.memory_mb)
            if tier.init_median_ms is not None:
                init_memory.append((function.arn, memory_x, tier.init_median_ms))
                init_size.append((tier_key, size_of(function), tier.init_median_ms))
            if tier.cold_penalty_ms is not None:
                penalty_memory.append((function.arn, memory_x, tier.cold_penalty_ms))
                penalty_size.append((tier_key, size_of(function), tier.cold_penalty_ms))
    per_doubling = "ms per doubling of memory"
    per_100mb = "ms per 100 MB of package"
    return Correlation(
        init_vs_memory=relation(
            init_memory, "memory_mb (log2)", "init_ms", per_doubling, "function"
        ),
        init_vs_package_size=relation(
            init_size, f"package_{measure}_bytes", "init_ms", per_100mb, "memory tier"
        ),
        cold_penalty_vs_memory=relation(
            penalty_memory, "memory_mb (log2)", "cold_penalty_ms", per_doubling, "function"
        ),
        cold_penalty_vs_package_size=relation(
            penalty_size, f"package_{measure}_bytes", "cold_penalty_ms", per_100mb, "memory tier"
        ),
        package_size_measure=measure,
    )


def relation(
    points: Sequence[tuple[str, float, float]],
    x_name: str,
    y_name: str,
    unit: str,
    controls_for: str,
) -> Relation:
    """Spearman and a least-squares slope of y on x, within groups.

    The slope is least squares on the deviations from each group's means (a fixed-effects
    fit). Spearman ranks x and y inside each group, centres those ranks, and correlates the
    pooled result, so each group contributes only its own ordering. Groups with one point carry
    no within-group information and are left out.
    """
    groups: dict[str, list[tuple[float, float]]] = {}
    for group, x, y in points:
        groups.setdefault(group, []).append((x, y))
    xs: list[float] = []
    ys: list[float] = []
    rank_xs: list[float] = []
    rank_ys: list[float] = []
    used = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        used += 1
        mean_x = math.fsum(x for x, _ in members) / len(members)
        mean_y = math.fsum(y for _, y in members) / len(members)
        xs.extend(x - mean_x for x, _ in members)
        ys.extend(y - mean_y for _, y in members)
        middle = (len(members) + 1) / 2
        rank_xs.extend(r - middle for r in stats.ranks([x for x, _ in members]))
        rank_ys.extend(r - middle for r in stats.ranks([y for _, y in members]))
    rho = stats.spearman(rank_xs, rank_ys) if rank_xs else None
    fit = stats.least_squares(xs, ys) if xs else None
    # Sizes 1 MB apart (0.01 of 100 MB) are the same size for this purpose; memory sizes on a
    # log2 scale are never that close.
    distinct_x = len({round(x, 2) for group, x, _y in points if len(groups[group]) >= 2})
    if distinct_x < 2:  # sizes that differ by bytes would give a slope of millions of ms
        rho, fit = None, None
    return Relation(
        x=x_name,
        y=y_name,
        slope_unit=unit,
        controls_for=controls_for,
        n=len(xs),
        groups=used,
        spearman=_round(rho, 3),
        slope=_round(fit[0]) if fit else None,
        caveat=_caveat(len(xs), used, distinct_x, controls_for, fit is None),
    )


def _caveat(n: int, groups: int, distinct_x: int, controls_for: str, no_fit: bool) -> str | None:
    if no_fit:
        if controls_for == "memory tier":
            return "not enough data: needs two or more functions of different package sizes"
        return "not enough data: needs two or more memory tiers measured on a function"
    if distinct_x < FIRM_DISTINCT_X:
        what = "package sizes" if controls_for == "memory tier" else "memory sizes"
        return f"only {distinct_x} distinct {what}: a trend through so few says little"
    if n < FIRM_N:
        return f"n={n}: too few points for a firm figure; read the sign, not the size"
    return None


def python_that_ran(runtime_version_arn: str | None) -> str | None:
    """The Python version coldprof's emulator ran a function on, from its RuntimeVersionArn."""
    match = re.search(r"coldprof-local-python(\d+\.\d+\.\d+)", runtime_version_arn or "")
    return match.group(1) if match else None


# -- deploys -------------------------------------------------------------------------------------
def _plan_deploy(path: Path, request: RemoteRequest, progress: Progress) -> DeployPlan:
    """Resolve and build the function for Lambda's platform, then zip it."""
    from coldprof.build.function_tree import check_function_tree
    from coldprof.build.package import BuildTarget, resolve_function, task_root_for
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
            platform="manylinux2014_x86_64",
            python_version=version,
            python=found.path if found else "",
        )
    else:
        machine = "aarch64" if request.architecture == "arm64" else "x86_64"
        target = BuildTarget(platform=f"manylinux2014_{machine}", python_version=python_version)
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
    unzipped = sum(p.stat().st_size for p in walk_files(root) if _zip_includes(root, p))
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
    stem = _safe_name(path.resolve().name)[:40].strip("-_") or "function"
    return f"coldprof-{stem}-{secrets.token_hex(3)}"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)


_ZIP_SKIP_DIRS = {".git", ".venv", "venv", ".aws-sam", "node_modules", ".pytest_cache"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _zip_includes(root: Path, path: Path, cache_tag: str | None = None) -> bool:
    parts = path.relative_to(root).parts
    if any(part in _ZIP_SKIP_DIRS for part in parts[:-1]):
        return False
    if cache_tag and path.suffix == ".pyc" and "__pycache__" in parts:
        # Bytecode for another Python is dead weight on Lambda: it is never loaded.
        return f".{cache_tag}." in path.name
    return True


def build_zip(
    root: Path, python_version: str | None = None, layer_roots: Sequence[Path] = ()
) -> bytes:
    """A deterministic deflate zip of `root`: sorted entries, fixed times, normalised modes.

    `layer_roots` (a layer's python/ folder) are folded in under the package's own files: those
    come first on Lambda's sys.path, so they win where both hold a file. Folding needs no
    PublishLayerVersion, so nothing beyond the temporary function is left to clean up.
    """
    cache_tag = f"cpython-{python_version.replace('.', '')}" if python_version else None
    from coldprof.measure.distributions import walk_files

    entries: dict[str, Path] = {}
    for base in (root, *layer_roots):
        for p in walk_files(base):
            name = p.relative_to(base).as_posix()
            if name not in entries and _zip_includes(base, p, cache_tag):
                entries[name] = p
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, path in sorted(entries.items()):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            mode = path.stat().st_mode
            executable = bool(mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.create_system = 3  # Unix, so the modes above are honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(
                info, _portable_bytecode(path) if path.suffix == ".pyc" else path.read_bytes()
            )
    return buffer.getvalue()


def _portable_bytecode(path: Path) -> bytes:
    """A .pyc that stays valid in a zip with fixed timestamps: unchecked-hash, not timestamp.

    pip writes timestamp-based bytecode, valid only while its source's mtime matches. This zip
    gives every entry the same fixed time, so Lambda would find all of it stale and recompile
    the package at every cold start, unlike the package analyze measured. Only the 16-byte
    header changes (PEP 552): the flags say "hash-based, do not check the source".
    """
    data = path.read_bytes()
    flags = int.from_bytes(data[4:8], "little") if len(data) >= 16 else -1
    source = path.parent.parent / f"{path.name.split('.', 1)[0]}.py"
    if flags != 0 or path.parent.name != "__pycache__" or not source.is_file():
        return data  # already hash-based, or not a module's cached bytecode: leave it be
    source_hash = importlib.util.source_hash(source.read_bytes())
    return data[:4] + (0b01).to_bytes(4, "little") + source_hash + data[16:]


def _deploy_and_sweep(
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
    interrupted: _FunctionInterrupted | None = None
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
            result = _sweep_function(api, snapshot, request, progress, guard, deployed=plan)
        except _FunctionInterrupted as e:
            interrupted = e
            result = e.result
    finally:
        if created and not request.keep:
            deleted, command = _delete(api, plan.name, guard, progress)
            if result is not None:
                result = replace(result, deleted=deleted, delete_command=command)
                if interrupted is not None:
                    interrupted = _FunctionInterrupted(result)
        elif created and result is not None:
            result = replace(result, deleted=False)
    if interrupted is not None:
        raise interrupted
    assert result is not None
    return result


def _undeployed(plan: DeployPlan, request: RemoteRequest, error: ColdprofError) -> FunctionResult:
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


# -- helpers -------------------------------------------------------------------------------------
def _usd(amount: float) -> str:
    """Dollars, with enough digits that a sweep's fraction of a cent does not read as $0."""
    return f"${amount:,.2f}" if amount >= 0.01 else f"${amount:.6f}"


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _optional_float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
