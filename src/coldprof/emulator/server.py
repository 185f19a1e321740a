"""A local Lambda endpoint: the 2015-03-31 API over HTTP, running functions in real environments."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from coldprof.aws import report as lambda_logs
from coldprof.build.archive import MAX_ZIPPED_BYTES, ArchiveError, extract_archive, remove_tree
from coldprof.emulator import logs as emulator_logs
from coldprof.emulator.guard import check_request
from coldprof.emulator.invocation_log import InvocationLog, LogEvent
from coldprof.errors import UsageError
from coldprof.lambda_facts import DEFAULT_REGION, MAX_MEMORY_MB, MIN_MEMORY_MB
from coldprof.runner import interpreter, lambda_fs
from coldprof.runner.cgroups import Cgroups, EnvironmentLimits, LimitSupport
from coldprof.runner.environment import (
    DEFAULT_ACCOUNT,
    INIT_LIMIT_S,
    EnvironmentSpec,
    ExecutionEnvironment,
    InitOutcome,
    InvokeOutcome,
    exit_reason,
)
from coldprof.runner.reaper import WORKDIR_PREFIX, claim_workdir, sweep_dead_emulators

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001
DEFAULT_IDLE_SECONDS = 300.0
# How long a new function stays Pending, and an update InProgress: long enough for a second
# update to meet a real ResourceConflictException and for the waiters to wait, short enough
# for tests.
DEFAULT_UPDATE_SECONDS = 0.05

DEFAULT_MEMORY_MB = 128
MAX_TIMEOUT_S = 900
DEFAULT_TIMEOUT_S = 3
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
MAX_ENV_BYTES = 4 * 1024
MAX_DESCRIPTION = 256
LOG_TAIL_BYTES = 4 * 1024
# A direct upload of 50 MB, base64-encoded in a JSON body, with room for the rest.
MAX_REQUEST_BYTES = MAX_ZIPPED_BYTES * 4 // 3 + 1024 * 1024

# Variables Lambda sets itself and refuses in a function's Environment.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")

_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
_PYTHON_FULL = f"{_PYTHON}.{sys.version_info[2]}"


class InitCpu(str, Enum):
    """How much CPU init gets."""

    unthrottled = "unthrottled"  # as Lambda is observed to do
    proportional = "proportional"  # memory/1769 of a core, as during invokes


@dataclass(frozen=True)
class EmulatorOptions:
    """Everything that decides how the emulator serves and runs functions."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    init_cpu: InitCpu = InitCpu.unthrottled
    allow_remote: bool = False
    update_seconds: float = DEFAULT_UPDATE_SECONDS
    init_limit_s: float = INIT_LIMIT_S
    cgroups: bool = True  # False: never touch cgroups (CPU unlimited, memory by watchdog)
    python: str = sys.executable
    require_auth: bool = True  # refuse requests without a SigV4 signature (emulator_guard)
    log_dir: Path | None = None  # where log groups are kept across runs; None: in memory only


# -- errors, shaped as Lambda shapes them ---------------------------------------------------------
_STATUS = {
    "InvalidParameterValueException": 400,
    "InvalidRequestContentException": 400,
    "ResourceNotFoundException": 404,
    "ResourceConflictException": 409,
    "PreconditionFailedException": 412,
    "AccessDeniedException": 403,
    "MissingAuthenticationTokenException": 403,
    "RequestTooLargeException": 413,
    "UnsupportedMediaTypeException": 415,
    "ServiceException": 500,
    "UnknownOperationException": 404,
}


class ApiError(Exception):
    """An error the API returns; botocore raises the modelled exception named by ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = _STATUS.get(code, 400)

    def body(self) -> dict[str, str]:
        # botocore reads "message" or "Message"; the modelled shapes use one or the other.
        return {"Type": "User", "message": self.message, "Message": self.message}


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


# -- functions and their versions ----------------------------------------------------------------
@dataclass(frozen=True)
class CodePackage:
    """One uploaded zip, unpacked read-only."""

    task_root: Path
    zip_path: Path
    sha256: str  # base64, as CodeSha256
    size: int
    unzipped: int


@dataclass(frozen=True)
class FunctionConfig:
    """The settings of $LATEST or of a published version; replaced whole on every change."""

    runtime: str
    handler: str
    role: str
    code: CodePackage
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_s: int = DEFAULT_TIMEOUT_S
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    log_format: str = "Text"
    log_group: str = ""
    application_log_level: str | None = None
    system_log_level: str | None = None
    architectures: tuple[str, ...] = ("x86_64",)
    layers: tuple[str, ...] = ()
    version: str = "$LATEST"
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    last_modified: str = ""


@dataclass(eq=False)
class _Warm:
    """An execution environment with the function and settings it was started for."""

    function: _Function
    env: ExecutionEnvironment
    limits: EnvironmentLimits
    version: str
    revision_id: str
    code: CodePackage
    last_used: float = 0.0
    log_stream: str = ""  # its CloudWatch log stream, date/[version]id, as Lambda names it


@dataclass(eq=False)
class _Function:
    """A function: $LATEST, its published versions, and its environments."""

    name: str
    region: str
    account: str
    latest: FunctionConfig
    tags: dict[str, str] = field(default_factory=dict)
    versions: dict[str, FunctionConfig] = field(default_factory=dict)
    next_version: int = 1
    published_revision: str | None = None  # the $LATEST revision the last version was made from
    pending_until: float = 0.0
    updating_until: float = 0.0
    idle: dict[str, list[_Warm]] = field(default_factory=dict)  # per version
    live: set[_Warm] = field(default_factory=set)  # idle or busy
    packages: list[CodePackage] = field(default_factory=list)
    deleted: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    def config(self, qualifier: str | None) -> FunctionConfig:
        if qualifier in (None, "", "$LATEST"):
            return self.latest
        found = self.versions.get(qualifier or "")
        if found is None:
            raise ApiError(
                "ResourceNotFoundException", f"Function not found: {self.arn}:{qualifier}"
            )
        return found

    def state(self, now: float) -> str:
        return "Pending" if now < self.pending_until else "Active"

    def updating(self, now: float) -> bool:
        return now < self.updating_until or now < self.pending_until


_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<account2>\d{12}):function:)?"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    """A FunctionName as the API accepts it: a name, a partial ARN or an ARN, maybe qualified."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


def parse_function_ref(value: str) -> FunctionRef:
    match = _FUNCTION_REF.match(value)
    if match is None:
        raise ApiError(
            "InvalidParameterValueException",
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(arn:aws[a-zA-Z-]*:lambda:)?([a-z0-9-]+:)?(\\d{12}:)?(function:)?"
            "([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    return FunctionRef(
        match["name"],
        match["qualifier"],
        match["region"],
        match["account"] or match["account2"],
    )


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _log_time() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


LOG_DIR_ENV = "COLDPROF_EMULATOR_LOGS"


def default_log_dir(cache: Path) -> Path:
    """Where emulators keep the log groups of their functions, for `coldprof logs --local`:
    $COLDPROF_EMULATOR_LOGS (a demo or a CI job keeping its own apart), else the cache."""
    explicit = os.environ.get(LOG_DIR_ENV)
    return Path(explicit).absolute() if explicit else cache / "emulator" / "logs"


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond this machine unless asked to: the API runs arbitrary code."""
    if allow_remote:
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError) as e:
        raise UsageError(f"--host {host}: cannot resolve it ({e})") from e
    remote = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if remote:
        raise UsageError(
            f"--host {host} listens beyond this machine ({', '.join(remote)}), and the emulator "
            "runs any code it is sent",
            hint="pass --allow-remote to accept that, or keep the default 127.0.0.1",
        )


# -- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InvokeResult:
    """One synchronous invoke as the API returns it."""

    request_id: str
    version: str
    payload: bytes
    log: str
    function_error: str | None
    report: lambda_logs.InvokeReport
    cold: bool
    pid: int | None
    events: tuple[LogEvent, ...] = ()  # the log, event by event, with the time each was written


@dataclass(frozen=True)
class _InitFailure:
    """How one init attempt failed, as the invoke reports it should it be the last attempt."""

    status: str  # "error" or "timeout"
    error_type: str | None
    body: dict[str, Any]
    error_line: str | None
    max_memory_mb: int


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def _json(status: int, document: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(document).encode(), headers or {})


# -- the control plane ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Runtime:
    """What a function's Runtime really runs on here."""

    python: str
    version: str  # "3.12.1"
    runtime_dir: Path
    note: str | None  # set when it is not the Python the Runtime names

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _same_python(a: str, b: str) -> bool:
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


class Emulator:
    """The functions, their environments, and the API operations, without the HTTP."""

    def __init__(
        self,
        options: EmulatorOptions,
        runtime_dir: Path,
        on_log: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.runtime_dir = runtime_dir
        self.on_log = on_log or (lambda _line: None)
        # Before the cgroups: an emulator killed with SIGKILL may have left processes in its groups.
        sweep_dead_emulators(self.on_log)
        self.filesystem = lambda_fs.choose_mode()
        self._runtimes: dict[str, _Runtime] = {}
        self.cgroups = Cgroups(enabled=options.cgroups)
        self.logs = emulator_logs.LogStore(options.log_dir)
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        claim_workdir(self.workdir)
        self._functions: dict[str, _Function] = {}
        self._live: set[_Warm] = set()  # every environment not yet killed, of any function
        self._lock = threading.RLock()
        self._closed = False
        self._inflight = 0
        self._idle_cv = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._janitor = threading.Thread(target=self._retire_idle_loop, daemon=True)
        self._janitor.start()

    @property
    def support(self) -> LimitSupport:
        return self.cgroups.support

    def notes(self) -> list[str]:
        """What a user must know about this emulator's fidelity, for its start-up banner."""
        support = self.support
        notes = [
            "functions run on the Python their Runtime names where it is installed here, else "
            f"on Python {_PYTHON_FULL} ({self.options.python}), and say so",
            f"filesystem: {self.filesystem}"
            + (
                " (/var/task read-only, layers at /opt, an empty /tmp per environment)"
                if self.filesystem == lambda_fs.LAMBDA
                else f" ({lambda_fs.COPY_CAVEAT})"
            ),
        ]
        if support.cpu is not None:
            init = (
                "init unthrottled"
                if self.options.init_cpu is InitCpu.unthrottled
                else "init throttled too"
            )
            notes.append(f"CPU: memory/1769 of a core through {support.cpu}; {init}")
        else:
            notes.append(f"warning: {self.cpu_warning()}")
        notes.append(f"memory: MemorySize enforced through {support.memory}")
        return notes

    def cpu_warning(self) -> str:
        reasons = [p for p in self.support.problems if "cpu" in p] or list(self.support.problems)
        return (
            "CPU is NOT limited per memory size; every function gets the whole machine ("
            + "; ".join(reasons)
            + ")"
        )

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Kill every environment, wait for in-flight invokes, remove the groups and code."""
        with self._lock:
            self._closed = True
            warm = list(self._live)
        self._stop.set()
        for entry in warm:
            self._kill(entry)
        # An invoke that spawned just before the kill sees the flag and kills its own.
        deadline = time.monotonic() + self.options.init_limit_s + 5
        with self._idle_cv:
            while self._inflight and time.monotonic() < deadline:
                self._idle_cv.wait(0.1)
        with self._lock:
            leftovers = list(self._live)
        for entry in leftovers:
            self._kill(entry)
        self._janitor.join(timeout=2)
        self.cgroups.close()
        remove_tree(self.workdir)

    def _retire_idle_loop(self) -> None:
        interval = max(0.05, min(1.0, self.options.idle_seconds / 4))
        while not self._stop.wait(interval):
            cutoff = time.monotonic() - self.options.idle_seconds
            retired: list[_Warm] = []
            with self._lock:
                for fn in self._functions.values():
                    for version, pool in fn.idle.items():
                        keep = [w for w in pool if w.last_used > cutoff and w.env.alive]
                        retired.extend(w for w in pool if w not in keep)
                        fn.idle[version] = keep
            for entry in retired:
                self._kill(entry)
            if retired:
                self.on_log(f"retired {len(retired)} idle environment(s)")

    def _kill(self, entry: _Warm) -> None:
        entry.env.kill()
        with self._lock:
            self._live.discard(entry)
            entry.function.live.discard(entry)
            self._collect_code(entry.function)

    def _retire(self, fn: _Function, version: str | None = None) -> list[_Warm]:
        """Take idle environments out of service (all versions when None); caller kills them."""
        retired: list[_Warm] = []
        for key in list(fn.idle):
            if version is None or key == version:
                retired.extend(fn.idle.pop(key))
        return retired

    def _collect_code(self, fn: _Function) -> None:
        """Remove unpacked code no configuration and no live environment uses any more."""
        if fn.deleted:
            used: set[Path] = {w.code.task_root for w in fn.live}
        else:
            used = {fn.latest.code.task_root}
            used.update(c.code.task_root for c in fn.versions.values())
            used.update(w.code.task_root for w in fn.live)
        for package in [p for p in fn.packages if p.task_root not in used]:
            fn.packages.remove(package)
            remove_tree(package.task_root.parent)

    # -- lookups ----------------------------------------------------------------------------
    def _function(self, ref: FunctionRef) -> _Function:
        fn = self._functions.get(ref.name)
        if fn is None:
            region = ref.region or DEFAULT_REGION
            account = ref.account or DEFAULT_ACCOUNT
            raise ApiError(
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:{region}:{account}:function:{ref.name}",
            )
        return fn

    @staticmethod
    def _qualifier(ref: FunctionRef, query: Mapping[str, str]) -> str | None:
        given = query.get("Qualifier")
        if ref.qualifier and given and ref.qualifier != given:
            raise _invalid(
                "The derived qualifier from the function name does not match the "
                "specified qualifier."
            )
        return ref.qualifier or given

    def configuration(self, fn: _Function, config: FunctionConfig, now: float) -> dict[str, Any]:
        """FunctionConfiguration as the API returns it."""
        version = config.version
        doc: dict[str, Any] = {
            "FunctionName": fn.name,
            "FunctionArn": fn.arn if version == "$LATEST" else f"{fn.arn}:{version}",
            "Runtime": config.runtime,
            "Role": config.role,
            "Handler": config.handler,
            "CodeSize": config.code.size,
            "Description": config.description,
            "Timeout": config.timeout_s,
            "MemorySize": config.memory_mb,
            "LastModified": config.last_modified,
            "CodeSha256": config.code.sha256,
            "Version": version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": config.revision_id,
            "PackageType": "Zip",
            "Architectures": list(config.architectures),
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            # Says which interpreter really runs the code, whatever Runtime names.
            "RuntimeVersionConfig": {
                "RuntimeVersionArn": f"arn:aws:lambda:{fn.region}::runtime:"
                f"coldprof-local-python{self.runtime_for(config.runtime).version}"
            },
            "LoggingConfig": self._logging_config(config),
        }
        if config.env:
            doc["Environment"] = {"Variables": dict(config.env)}
        if config.layers:
            doc["Layers"] = [{"Arn": arn, "CodeSize": 0} for arn in config.layers]
        pending = version == "$LATEST" and fn.state(now) == "Pending"
        doc["State"] = "Pending" if pending else "Active"
        if pending:
            doc["StateReason"] = "The function is being created."
            doc["StateReasonCode"] = "Creating"
        if version == "$LATEST" and fn.updating(now):
            doc["LastUpdateStatus"] = "InProgress"
            doc["LastUpdateStatusReason"] = (
                "The function is being created." if pending else ("The function is being updated.")
            )
        else:
            doc["LastUpdateStatus"] = "Successful"
        return doc

    @staticmethod
    def _logging_config(config: FunctionConfig) -> dict[str, str]:
        logging = {"LogFormat": config.log_format, "LogGroup": config.log_group}
        if config.log_format == "JSON":
            logging["ApplicationLogLevel"] = config.application_log_level or "INFO"
            logging["SystemLogLevel"] = config.system_log_level or "INFO"
        return logging

    # -- validation -------------------------------------------------------------------------
    def _unpack(self, zip_b64: object) -> CodePackage:
        if not isinstance(zip_b64, str) or not zip_b64:
            raise _invalid("Code: the emulator accepts a ZipFile only (no S3 or image URIs)")
        try:
            data = base64.b64decode(zip_b64, validate=True)
        except (binascii.Error, ValueError) as e:
            raise _invalid(f"ZipFile is not valid base64: {e}") from e
        directory = Path(tempfile.mkdtemp(prefix="code-", dir=self.workdir))
        try:
            info = extract_archive(data, directory / "task")
        except ArchiveError as e:
            remove_tree(directory)
            raise _invalid(f"Could not unzip uploaded file: {e.message}") from e
        zip_path = directory / "code.zip"
        zip_path.write_bytes(data)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        return CodePackage(directory / "task", zip_path, digest, len(data), info.unzipped_bytes)

    def _apply_settings(
        self, config: FunctionConfig, body: Mapping[str, Any], function_name: str
    ) -> FunctionConfig:
        """The configuration fields of a Create or UpdateFunctionConfiguration body."""
        changes: dict[str, Any] = {}
        if "Runtime" in body:
            changes["runtime"] = _runtime(body["Runtime"])
        if "Handler" in body:
            handler = body["Handler"]
            if not isinstance(handler, str) or not re.fullmatch(r"[^\s]{1,128}", handler):
                raise _invalid(f"Handler {handler!r} is not valid: expected module.function")
            changes["handler"] = handler
        if "Role" in body:
            changes["role"] = str(body["Role"])
        if "MemorySize" in body:
            changes["memory_mb"] = _bounded(
                body["MemorySize"], "MemorySize", MIN_MEMORY_MB, MAX_MEMORY_MB
            )
        if "Timeout" in body:
            changes["timeout_s"] = _bounded(body["Timeout"], "Timeout", 1, MAX_TIMEOUT_S)
        if "Description" in body:
            description = str(body["Description"])
            if len(description) > MAX_DESCRIPTION:
                raise _invalid(f"Description must be at most {MAX_DESCRIPTION} characters")
            changes["description"] = description
        if "Environment" in body:
            changes["env"] = _environment(body["Environment"])
        if "Architectures" in body:
            changes["architectures"] = _architectures(body["Architectures"])
        if "Layers" in body:
            layers = body["Layers"]
            if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
                raise _invalid("Layers must be a list of layer version ARNs")
            changes["layers"] = tuple(layers)
            if layers:
                self.on_log(
                    f"{function_name}: Layers accepted and ignored: the emulator runs the "
                    "function's own zip only"
                )
        if "LoggingConfig" in body:
            changes.update(_logging(body["LoggingConfig"], config, function_name))
        if "PackageType" in body and body["PackageType"] != "Zip":
            raise _invalid("PackageType Image is not supported by the emulator; use a Zip")
        return replace(config, **changes) if changes else config

    # -- operations -------------------------------------------------------------------------
    def create_function(self, body: Mapping[str, Any], region: str) -> Response:
        name_value = body.get("FunctionName")
        if not isinstance(name_value, str):
            raise _invalid("FunctionName is required")
        ref = parse_function_ref(name_value)
        if ref.qualifier:
            raise _invalid("FunctionName must not carry a qualifier here")
        code = body.get("Code")
        if not isinstance(code, dict):
            raise _invalid("Code is required")
        if "Runtime" not in body:
            raise _invalid("Runtime is required for a Zip package; e.g. python3.12")
        if "Handler" not in body:
            raise _invalid("Handler is required for a Zip package; e.g. app.handler")
        self.runtime_for(_runtime(body["Runtime"]))  # found (or installed) now, outside the lock
        with self._lock:
            if ref.name in self._functions:
                raise ApiError("ResourceConflictException", f"Function already exist: {ref.name}")
        package = self._unpack(code.get("ZipFile"))
        region = ref.region or region
        base = FunctionConfig(
            runtime="python3.12",
            handler="lambda_function.lambda_handler",
            role="",
            code=package,
            log_group=f"/aws/lambda/{ref.name}",
            last_modified=_now_iso(),
        )
        try:
            config = self._apply_settings(base, body, ref.name)
        except ApiError:
            remove_tree(package.task_root.parent)
            raise
        tags = body.get("Tags") if isinstance(body.get("Tags"), dict) else {}
        now = time.monotonic()
        with self._lock:
            if ref.name in self._functions:
                remove_tree(package.task_root.parent)
                raise ApiError("ResourceConflictException", f"Function already exist: {ref.name}")
            fn = _Function(
                ref.name,
                region,
                ref.account or DEFAULT_ACCOUNT,
                config,
                tags={str(k): str(v) for k, v in (tags or {}).items()},
                packages=[package],
                pending_until=now + self.options.update_seconds,
            )
            self._functions[ref.name] = fn
            if body.get("Publish"):
                self._publish(fn, None)
            document = self.configuration(fn, fn.latest, now)
        self.on_log(f"{ref.name}: created ({config.runtime}, {config.memory_mb} MB)")
        runtime = self.runtime_for(config.runtime)
        if runtime.note:
            self.on_log(f"{ref.name}: note: {runtime.note}")
        return _json(201, document)

    def get_function(self, ref: FunctionRef, query: Mapping[str, str], host: str) -> Response:
        with self._lock:
            fn = self._function(ref)
            config = fn.config(self._qualifier(ref, query))
            document = {
                "Configuration": self.configuration(fn, config, time.monotonic()),
                "Code": {
                    "RepositoryType": "S3",
                    # Served by the emulator itself, so a tool that downloads the code works.
                    "Location": f"http://{host}/coldprof/code/{fn.name}/"
                    f"{config.code.zip_path.parent.name}.zip",
                },
            }
            if fn.tags:
                document["Tags"] = dict(fn.tags)
        return _json(200, document)

    def get_configuration(self, ref: FunctionRef, query: Mapping[str, str]) -> Response:
        with self._lock:
            fn = self._function(ref)
            config = fn.config(self._qualifier(ref, query))
            return _json(200, self.configuration(fn, config, time.monotonic()))

    def list_functions(self, query: Mapping[str, str]) -> Response:
        with self._lock:
            now = time.monotonic()
            documents = []
            for fn in sorted(self._functions.values(), key=lambda f: f.name):
                documents.append(self.configuration(fn, fn.latest, now))
                if query.get("FunctionVersion") == "ALL":
                    documents.extend(self.configuration(fn, c, now) for c in fn.versions.values())
        return _json(200, _page(documents, query, "Functions"))

    def list_versions(self, ref: FunctionRef, query: Mapping[str, str]) -> Response:
        with self._lock:
            fn = self._function(ref)
            now = time.monotonic()
            documents = [self.configuration(fn, fn.latest, now)]
            documents.extend(self.configuration(fn, c, now) for c in fn.versions.values())
        return _json(200, _page(documents, query, "Versions"))

    def delete_function(self, ref: FunctionRef, query: Mapping[str, str]) -> Response:
        qualifier = self._qualifier(ref, query)
        with self._lock:
            fn = self._function(ref)
            if qualifier in (None, "", "$LATEST"):
                if qualifier == "$LATEST":
                    raise _invalid(
                        "$LATEST version cannot be deleted without deleting the function."
                    )
                del self._functions[fn.name]
                fn.deleted = True
                retired = self._retire(fn)
            else:
                fn.config(qualifier)
                del fn.versions[qualifier or ""]
                retired = self._retire(fn, qualifier)
        for entry in retired:
            self._kill(entry)
        with self._lock:
            self._collect_code(fn)
        self.on_log(f"{fn.name}: deleted" + (f" version {qualifier}" if qualifier else ""))
        return Response(204)

    def _check_not_updating(self, fn: _Function, now: float) -> None:
        if fn.state(now) == "Pending":
            raise ApiError(
                "ResourceConflictException",
                "The operation cannot be performed at this time. The function is currently in "
                "the following state: Pending",
            )
        if fn.updating(now):
            raise ApiError(
                "ResourceConflictException",
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {fn.arn}",
            )

    @staticmethod
    def _check_revision(fn: _Function, body: Mapping[str, Any]) -> None:
        wanted = body.get("RevisionId")
        if wanted and wanted != fn.latest.revision_id:
            raise ApiError(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id",
            )

    def update_configuration(self, ref: FunctionRef, body: Mapping[str, Any]) -> Response:
        with self._lock:
            fn = self._function(ref)
            now = time.monotonic()
            self._check_not_updating(fn, now)
            self._check_revision(fn, body)
            config = self._apply_settings(fn.latest, body, fn.name)
            fn.latest = replace(config, revision_id=str(uuid.uuid4()), last_modified=_now_iso())
            fn.updating_until = now + self.options.update_seconds
            retired = self._retire(fn, "$LATEST")
            document = self.configuration(fn, fn.latest, now)
        for entry in retired:
            self._kill(entry)
        self.on_log(f"{fn.name}: configuration updated; environments retired")
        return _json(200, document)

    def update_code(self, ref: FunctionRef, body: Mapping[str, Any]) -> Response:
        with self._lock:
            fn = self._function(ref)
            self._check_not_updating(fn, time.monotonic())
            self._check_revision(fn, body)
        if any(body.get(k) for k in ("S3Bucket", "S3Key", "ImageUri")):
            raise _invalid("the emulator accepts a ZipFile only (no S3 or image URIs)")
        package = self._unpack(body.get("ZipFile"))
        if body.get("DryRun"):
            remove_tree(package.task_root.parent)
            with self._lock:
                config = replace(fn.latest, code=package)
                return _json(200, self.configuration(fn, config, time.monotonic()))
        try:
            architectures = (
                _architectures(body["Architectures"]) if "Architectures" in body else None
            )
        except ApiError:
            remove_tree(package.task_root.parent)
            raise
        with self._lock:
            now = time.monotonic()
            try:
                self._check_not_updating(fn, now)
            except ApiError:
                remove_tree(package.task_root.parent)
                raise
            changes: dict[str, Any] = {"code": package}
            if architectures:
                changes["architectures"] = architectures
            fn.latest = replace(
                fn.latest, **changes, revision_id=str(uuid.uuid4()), last_modified=_now_iso()
            )
            fn.packages.append(package)
            fn.updating_until = now + self.options.update_seconds
            retired = self._retire(fn, "$LATEST")
            if body.get("Publish"):
                self._publish(fn, None)
            self._collect_code(fn)
            document = self.configuration(fn, fn.latest, now)
        for entry in retired:
            self._kill(entry)
        self.on_log(f"{fn.name}: code updated ({package.size} bytes); environments retired")
        return _json(200, document)

    def _publish(self, fn: _Function, description: str | None) -> FunctionConfig:
        if fn.published_revision == fn.latest.revision_id and fn.versions:
            return fn.versions[str(fn.next_version - 1)]
        version = str(fn.next_version)
        fn.next_version += 1
        config = replace(fn.latest, version=version, last_modified=_now_iso())
        if description is not None:
            config = replace(config, description=description)
        fn.versions[version] = config
        fn.published_revision = fn.latest.revision_id
        return config

    def publish_version(self, ref: FunctionRef, body: Mapping[str, Any]) -> Response:
        with self._lock:
            fn = self._function(ref)
            now = time.monotonic()
            self._check_not_updating(fn, now)
            self._check_revision(fn, body)
            wanted = body.get("CodeSha256")
            if wanted and wanted != fn.latest.code.sha256:
                raise _invalid(
                    f"CodeSHA256 ({wanted}) is different from current CodeSHA256 in $LATEST "
                    f"({fn.latest.code.sha256}). Please try again with the CodeSHA256 in $LATEST."
                )
            description = body.get("Description")
            config = self._publish(fn, description if isinstance(description, str) else None)
            document = self.configuration(fn, config, now)
        self.on_log(f"{fn.name}: published version {config.version}")
        return _json(201, document)

    def code_zip(self, name: str, package_id: str) -> Response:
        with self._lock:
            fn = self._functions.get(name)
            packages = fn.packages if fn is not None else []
            for package in packages:
                if package.zip_path.parent.name == package_id:
                    return Response(200, package.zip_path.read_bytes(), {}, "application/zip")
        raise ApiError("ResourceNotFoundException", f"no code package {package_id} for {name}")

    # -- invoke -----------------------------------------------------------------------------
    def invoke(
        self,
        ref: FunctionRef,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        payload: bytes,
    ) -> Response:
        invocation_type = headers.get("x-amz-invocation-type") or "RequestResponse"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise _invalid(f"Unsupported invocation type {invocation_type}")
        qualifier = self._qualifier(ref, query)
        with self._lock:
            fn = self._function(ref)
            config = fn.config(qualifier)
            if config.version == "$LATEST" and fn.state(time.monotonic()) == "Pending":
                raise ApiError(
                    "ResourceConflictException",
                    "The operation cannot be performed at this time. The function is currently "
                    "in the following state: Pending",
                )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            raise ApiError(
                "RequestTooLargeException",
                f"{len(payload)} byte payload is too large for the {invocation_type} "
                f"invocation type (limit {limit} bytes)",
            )
        if payload.strip():
            try:
                json.loads(payload)
            except ValueError as e:
                raise ApiError(
                    "InvalidRequestContentException",
                    f"Could not parse request body into json: {e}",
                ) from e
        else:
            payload = b"{}"
        client_context = _client_context(headers.get("x-amz-client-context"))
        base_headers = {"X-Amz-Executed-Version": config.version}
        if invocation_type == "DryRun":
            return Response(204, b"", base_headers)
        if invocation_type == "Event":
            thread = threading.Thread(
                target=self._run_event, args=(fn, config, payload, client_context), daemon=True
            )
            self._begin()
            thread.start()
            return Response(202, b"", base_headers)
        self._begin()
        try:
            result = self.run(fn, config, payload, client_context)
        finally:
            self._end()
        response_headers = dict(base_headers)
        response_headers["x-amzn-RequestId"] = result.request_id
        if result.function_error:
            response_headers["X-Amz-Function-Error"] = result.function_error
        if (headers.get("x-amz-log-type") or "None") == "Tail":
            tail = result.log.encode()[-LOG_TAIL_BYTES:]
            response_headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return Response(200, result.payload, response_headers)

    def _begin(self) -> None:
        with self._lock:
            if self._closed:
                raise ApiError("ServiceException", "the emulator is shutting down")
            self._inflight += 1

    def _end(self) -> None:
        with self._idle_cv:
            self._inflight -= 1
            self._idle_cv.notify_all()

    def _run_event(
        self, fn: _Function, config: FunctionConfig, payload: bytes, context: str | None
    ) -> None:
        try:
            self.run(fn, config, payload, context)
        except Exception as e:  # noqa: BLE001 - a background invoke has no caller to raise to
            self.on_log(f"{fn.name}: event invoke failed: {e}")
        finally:
            self._end()

    def run(
        self,
        fn: _Function,
        config: FunctionConfig,
        payload: bytes,
        client_context: str | None = None,
    ) -> InvokeResult:
        """One invocation: take a warm environment or start one, invoke, log, give it back."""
        request_id = str(uuid.uuid4())
        log = self._new_log(fn, config)
        entry = self._acquire(fn, config)
        init: InitOutcome | None = None
        retried_init_ms = 0.0
        timeout_s = float(config.timeout_s)
        if entry is None:
            log.init_start()
            entry, init = self._spawn(fn, config, self.options.init_limit_s)
            if not init.ok:
                # Lambda retries a failed init once, inside this invocation (a "suppressed init").
                self._log_init_failure(log, entry, init, config, request_id, "init")
                entry, retry = self._spawn(fn, config, timeout_s, retry=True)
                if not retry.ok:
                    return self._retried_init_failed(fn, config, entry, retry, log, request_id)
                retried_init_ms = retry.init_ms
                init = None  # its REPORT carries no Init Duration: the init ran in the invoke
            log.output(entry.env.init_output())
        log.start(request_id)
        try:
            # The function's Timeout covers the whole invoke, a retried init included.
            remaining = max(timeout_s - retried_init_ms / 1000, 0.001)
            outcome = entry.env.invoke(payload, request_id, timeout_s=remaining)
        except RuntimeError:  # killed between acquire and invoke: shutting down or retired
            outcome = InvokeOutcome(
                request_id, False, b"", 0.0, 0, "", "Runtime.ExitError", "exited"
            )
        result = self._finish(fn, config, entry, outcome, log, init, retried_init_ms)
        self._release(fn, entry)
        return result

    def _acquire(self, fn: _Function, config: FunctionConfig) -> _Warm | None:
        stale: list[_Warm] = []
        found = None
        with self._lock:
            pool = fn.idle.setdefault(config.version, [])
            while pool:
                entry = pool.pop()  # the most recently used: the warmest
                if entry.env.alive and entry.revision_id == config.revision_id:
                    found = entry
                    break
                stale.append(entry)
        for entry in stale:
            self._kill(entry)
        return found

    def runtime_for(self, runtime: str) -> _Runtime:
        """The interpreter (and runtime directory) a Runtime runs on: its own Python where it is
        installed here, else coldprof's, with a note saying so. Found once per Runtime."""
        with self._lock:
            found = self._runtimes.get(runtime)
        if found is not None:
            return found
        version = interpreter.wanted_version(runtime)
        python = interpreter.find_version(version, "Runtime") if version else None
        note = None
        if python is None:
            python = interpreter.own_interpreter()
            if not _same_python(self.options.python, python.path):
                probed = interpreter.probe(self.options.python)
                python = interpreter.Interpreter(
                    self.options.python,
                    str(probed["version"]) if probed else python.version,
                    (),
                    "--python",
                )
            note = (
                f"Runtime {runtime}: no Python {version or runtime} installed here, so it runs "
                f"on Python {python.version} ({python.path})"
            )
        sdk = interpreter.runtime_sdk(python.runtime, None)
        if python.is_own and sdk.boto3 is None:
            runtime_dir = self.runtime_dir
        else:
            from coldprof.build.package import cache_root

            runtime_dir = interpreter.installed_runtime_dir(python, sdk, cache_root())
        found = _Runtime(python.path, python.version, runtime_dir, note)
        with self._lock:
            self._runtimes[runtime] = found
        return found

    def _spawn(
        self, fn: _Function, config: FunctionConfig, init_limit_s: float, retry: bool = False
    ) -> tuple[_Warm, InitOutcome]:
        runtime = self.runtime_for(config.runtime)
        user_env = dict(config.env)
        # Lambda's own variables for this version; environment.py fills in the rest.
        user_env["AWS_LAMBDA_FUNCTION_VERSION"] = config.version
        user_env["AWS_LAMBDA_LOG_GROUP_NAME"] = config.log_group
        if config.log_format == "JSON" and config.application_log_level:
            user_env["AWS_LAMBDA_LOG_LEVEL"] = config.application_log_level
        spec = EnvironmentSpec(
            handler=config.handler,
            task_root=config.code.task_root,
            runtime_dir=runtime.runtime_dir,
            python=runtime.python,
            python_version=runtime.minor,
            filesystem=self.filesystem,
            user_env=user_env,
            function_name=fn.name,
            memory_mb=config.memory_mb,
            timeout_s=float(config.timeout_s),
            region=fn.region,
            init_limit_s=init_limit_s,
            log_format=config.log_format,
            merge_stderr=True,
        )
        # A retried init runs inside the invoke, so it gets the invoke's CPU share.
        throttle_init = retry or self.options.init_cpu is InitCpu.proportional
        limits = self.cgroups.limits(config.memory_mb, throttle_init=throttle_init)
        env = ExecutionEnvironment(spec, limits)
        limits.on_memory_exceeded = lambda: env.kill_for("memory")
        entry = _Warm(
            fn,
            env,
            limits,
            config.version,
            config.revision_id,
            config.code,
            log_stream=emulator_logs.stream_name(config.version),
        )
        with self._lock:
            closed = self._closed
            if not closed:
                fn.live.add(entry)
                self._live.add(entry)
        if closed:
            env.kill()  # releases its Runtime API port and scratch directory
            raise ApiError("ServiceException", "the emulator is shutting down")
        try:
            init = env.start()
        except BaseException as e:
            self._kill(entry)  # its Runtime API socket, thread and scratch folder go with it
            if isinstance(e, (OSError, ValueError)):
                raise ApiError("ServiceException", f"could not start the runtime: {e}") from e
            raise
        if self._closed:
            self._kill(entry)
        for problem in limits.problems:
            self.on_log(f"{fn.name}: warning: {problem}")
        if not limits.problems and self.support.cpu is None:
            self.on_log(
                f"{fn.name}: warning: cold start at {config.memory_mb} MB: " + self.cpu_warning()
            )
        return entry, init

    def _release(self, fn: _Function, entry: _Warm) -> None:
        with self._lock:
            current = None
            if not fn.deleted and not self._closed:
                with contextlib.suppress(ApiError):
                    current = fn.config(entry.version)
            if current is not None and current.revision_id == entry.revision_id and entry.env.alive:
                entry.last_used = time.monotonic()
                fn.idle.setdefault(entry.version, []).append(entry)
                return
        self._kill(entry)

    # -- reporting --------------------------------------------------------------------------
    def _new_log(self, fn: _Function, config: FunctionConfig) -> InvocationLog:
        actual = self.runtime_for(config.runtime)  # the Python that ran, not the one named
        return InvocationLog(
            function_name=fn.name,
            version=config.version,
            runtime_version=f"python:{actual.minor}.local",
            runtime_version_arn=(
                f"arn:aws:lambda:{fn.region}::runtime:coldprof-local-python{actual.version}"
            ),
            as_json=config.log_format == "JSON",
        )

    def _log_init_failure(
        self,
        log: InvocationLog,
        entry: _Warm,
        init: InitOutcome,
        config: FunctionConfig,
        request_id: str,
        phase: str,
    ) -> _InitFailure:
        """Kill the environment whose init failed, and log its output and INIT_REPORT."""
        env = entry.env
        output = env.init_output()
        peak = env.peak_rss_mb()
        self._kill(entry)
        peak = peak or entry.limits.peak_mb()  # the runtime has exited: ask its memory cgroup
        oom = entry.limits.oom_killed()
        error_line = None
        error_type: str | None
        if init.status == "error" and init.error:
            posted = init.error.get("errorType")
            error_type = lambda_logs.platform_error_type(
                posted if isinstance(posted, str) else None
            )
            body: dict[str, Any] = dict(init.error)
        elif init.status == "timeout":
            # AWS's INIT_REPORT for a timeout names no error type; the invoke's error does.
            error_type = None
            limit = init.init_ms / 1000
            body = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                f"{limit:.2f} seconds",
            }
            error_line = f"{_log_time()} {request_id} Task timed out after {limit:.2f} seconds"
        else:
            error_type = "Runtime.OutOfMemory" if oom else "Runtime.ExitError"
            reason = "signal: killed" if oom else exit_reason(init.returncode)
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            body = {"errorType": error_type, "errorMessage": message}
            error_line = f"{message}\n{error_type}"
        status = "timeout" if init.status == "timeout" else "error"
        log.output(output)
        log.init_report(lambda_logs.InitReport(init.init_ms, phase, status, error_type))
        max_memory = config.memory_mb if oom else min(peak, config.memory_mb)
        return _InitFailure(status, error_type, body, error_line, max_memory)

    def _retried_init_failed(
        self,
        fn: _Function,
        config: FunctionConfig,
        entry: _Warm,
        retry: InitOutcome,
        log: InvocationLog,
        request_id: str,
    ) -> InvokeResult:
        """The init retried inside the invoke failed too: the invoke fails with its error."""
        failure = self._log_init_failure(log, entry, retry, config, request_id, "invoke")
        log.start(request_id)
        log.error(failure.error_line)
        report = lambda_logs.InvokeReport(
            request_id=request_id,
            duration_ms=retry.init_ms,
            billed_ms=lambda_logs.billed_ms(retry.init_ms),
            memory_mb=config.memory_mb,
            max_memory_mb=failure.max_memory_mb,
            status=failure.status,
            error_type=failure.error_type,
        )
        log.end(report)
        self._emit(fn, log, entry, config)
        return InvokeResult(
            request_id,
            config.version,
            json.dumps(failure.body).encode(),
            log.text(),
            "Unhandled",
            report,
            True,
            None,
            tuple(log.events),
        )

    def _finish(
        self,
        fn: _Function,
        config: FunctionConfig,
        entry: _Warm,
        outcome: InvokeOutcome,
        log: InvocationLog,
        init: InitOutcome | None,
        retried_init_ms: float = 0.0,
    ) -> InvokeResult:
        env = entry.env
        request_id = outcome.request_id
        pid = env.proc.pid if env.proc is not None else None
        payload = outcome.payload
        error_line = None
        status = None
        error_type = None
        max_memory = outcome.max_memory_mb
        function_error = None if outcome.ok else "Unhandled"
        if outcome.ok and len(payload) > MAX_SYNC_PAYLOAD:
            function_error = "Unhandled"
            error_type = "Function.ResponseSizeTooLarge"
            payload = json.dumps(
                {
                    "errorType": error_type,
                    "errorMessage": "Response payload size exceeded maximum allowed payload "
                    f"size ({MAX_SYNC_PAYLOAD} bytes).",
                }
            ).encode()
            status = "error"
        if outcome.status == "timeout":
            status = "timeout"
            error_line = (
                f"{_log_time()} {request_id} Task timed out after "
                f"{float(config.timeout_s):.2f} seconds"
            )
            payload = json.dumps(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                    f"{float(config.timeout_s):.2f} seconds",
                }
            ).encode()
        elif outcome.status == "exited":
            status = "error"
            if entry.limits.oom_killed():
                error_type = "Runtime.OutOfMemory"
                message = (
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                )
                max_memory = config.memory_mb
            else:
                error_type = outcome.error_type or "Runtime.ExitError"
                message = _json_field(payload, "errorMessage") or (
                    f"RequestId: {request_id} Error: Runtime exited with error"
                )
            payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
            error_line = f"{message}\n{error_type}"
        if not max_memory:  # the process is gone: ask its memory cgroup
            max_memory = entry.limits.peak_mb()
        init_ms = init.init_ms if init is not None else None
        duration = retried_init_ms + outcome.duration_ms
        billed = lambda_logs.billed_ms(duration + (init_ms or 0.0))
        report = lambda_logs.InvokeReport(
            request_id=request_id,
            duration_ms=duration,
            billed_ms=billed,
            memory_mb=config.memory_mb,
            max_memory_mb=min(max_memory, config.memory_mb),
            init_ms=init_ms,
            status=status,
            error_type=error_type,
        )
        log.output(outcome.log)
        log.error(error_line)
        log.end(report)
        self._emit(fn, log, entry, config)
        return InvokeResult(
            request_id,
            config.version,
            payload,
            log.text(),
            function_error,
            report,
            init is not None or retried_init_ms > 0,
            pid,
            tuple(log.events),
        )

    def _emit(
        self, fn: _Function, log: InvocationLog, entry: _Warm, config: FunctionConfig
    ) -> None:
        for event in log.events:
            self.logs.put(config.log_group, entry.log_stream, event.message, event.timestamp_ms)
            for line in event.message.split("\n"):
                self.on_log(f"[{fn.name}] {line}")


# -- body field checks ---------------------------------------------------------------------------
def _page(documents: list[dict[str, Any]], query: Mapping[str, str], key: str) -> dict[str, Any]:
    try:
        start = int(query.get("Marker") or 0)
        size = int(query.get("MaxItems") or 50)
    except ValueError as e:
        raise _invalid("Marker and MaxItems must be numbers") from e
    size = max(1, min(size, 10000))
    page: dict[str, Any] = {key: documents[start : start + size]}
    if start + size < len(documents):
        page["NextMarker"] = str(start + size)
    return page


def _runtime(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"python3\.\d+", value):
        raise _invalid(
            f"The runtime parameter of {value} is not supported by the emulator: it runs Python "
            "functions only (python3.x), on this machine's interpreter"
        )
    return value


def _bounded(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{name} must be an integer")
    if not low <= value <= high:
        raise _invalid(
            f"1 validation error detected: Value '{value}' at '{name[0].lower() + name[1:]}' "
            f"failed to satisfy constraint: Member must have value "
            + (
                f"less than or equal to {high}"
                if value > high
                else f"greater than or equal to {low}"
            )
        )
    return value


def _environment(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _invalid("Environment must be an object with Variables")
    variables = value.get("Variables") or {}
    if not isinstance(variables, dict):
        raise _invalid("Environment.Variables must be a map of strings")
    reserved = sorted(k for k in variables if k in RESERVED_ENV)
    if reserved:
        raise _invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    for key, value in variables.items():
        # Lambda's key pattern, from its API reference: [a-zA-Z]([a-zA-Z0-9_])+
        if not isinstance(key, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]+", key):
            raise _invalid(f"Environment variable name {key!r} must match [a-zA-Z]([a-zA-Z0-9_])+")
        # Values are never echoed: they may be secrets.
        if not isinstance(value, str):
            raise _invalid(f"Environment variable {key} must have a string value")
        if "\0" in value:
            raise _invalid(f"Environment variable {key} has a NUL character in its value")
    result = dict(variables)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in result.items())
    if size > MAX_ENV_BYTES:
        raise _invalid(
            f"Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {size} bytes"
        )
    return result


def _architectures(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("x86_64", "arm64"):
        raise _invalid('Architectures must be ["x86_64"] or ["arm64"]')
    return (str(value[0]),)


def _logging(value: object, config: FunctionConfig, function_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid("LoggingConfig must be an object")
    changes: dict[str, Any] = {}
    log_format = value.get("LogFormat", config.log_format)
    if log_format not in ("Text", "JSON"):
        raise _invalid(f"LogFormat must be Text or JSON, not {log_format!r}")
    changes["log_format"] = log_format
    for key, attribute in (
        ("ApplicationLogLevel", "application_log_level"),
        ("SystemLogLevel", "system_log_level"),
    ):
        if key in value:
            level = value[key]
            if level not in LOG_LEVELS:
                raise _invalid(f"{key} must be one of {', '.join(LOG_LEVELS)}")
            if log_format != "JSON":
                raise _invalid(f"{key} requires LogFormat JSON")
            changes[attribute] = level
    if "LogGroup" in value:
        changes["log_group"] = str(value["LogGroup"]) or f"/aws/lambda/{function_name}"
    return changes


def _client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        json.loads(decoded)
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise _invalid("Client context must be a valid Base64-encoded JSON object.") from e
    return decoded


def _json_field(payload: bytes, key: str) -> str | None:
    try:
        parsed = json.loads(payload)
    except ValueError:
        return None
    value = parsed.get(key) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


def _signing_region(headers: Mapping[str, str]) -> str:
    """The region the client signed for: any region is accepted, and echoed in ARNs."""
    match = re.search(
        r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/lambda/", headers.get("authorization", "")
    )
    return match.group(1) if match else DEFAULT_REGION


# -- HTTP ----------------------------------------------------------------------------------------
_FN = r"/2015-03-31/functions/(?P<fn>[^/?]+)"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern + "/?$"), operation)
    for method, pattern, operation in (
        ("POST", r"/2015-03-31/functions", "CreateFunction"),
        ("GET", r"/2015-03-31/functions", "ListFunctions"),
        ("GET", _FN, "GetFunction"),
        ("DELETE", _FN, "DeleteFunction"),
        ("GET", _FN + "/configuration", "GetFunctionConfiguration"),
        ("PUT", _FN + "/configuration", "UpdateFunctionConfiguration"),
        ("PUT", _FN + "/code", "UpdateFunctionCode"),
        ("POST", _FN + "/versions", "PublishVersion"),
        ("GET", _FN + "/versions", "ListVersionsByFunction"),
        ("POST", _FN + "/invocations", "Invoke"),
        ("GET", r"/coldprof/code/(?P<fn>[^/]+)/(?P<package>[\w-]+)\.zip", "DownloadCode"),
    )
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    port: int = 0  # the port it arrived on: the only one a Host header may name


def dispatch(emulator: Emulator, request: Request) -> Response:
    """Route one API request to its operation; errors become Lambda-shaped responses."""
    request_id = str(uuid.uuid4())
    try:
        response = _route(emulator, request)
    except ApiError as e:
        return _json(
            e.status,
            e.body(),
            {"x-amzn-ErrorType": e.code, "x-amzn-RequestId": request_id},
        )
    headers = dict(response.headers)
    headers.setdefault("x-amzn-RequestId", request_id)
    return replace(response, headers=headers)


def _route(emulator: Emulator, request: Request) -> Response:
    target = request.headers.get("x-amz-target", "")
    if request.method == "POST" and request.path in ("", "/") and target:
        return _logs_operation(emulator, request, target)
    for method, pattern, operation in _ROUTES:
        match = pattern.match(request.path)
        if match is None or method != request.method:
            continue
        _check(emulator, request, operation)
        ref = parse_function_ref(unquote(match["fn"])) if "fn" in match.groupdict() else None
        if ref is not None and ref.region is None:
            ref = replace(ref, region=_signing_region(request.headers))
        if operation == "Invoke":
            assert ref is not None
            return emulator.invoke(ref, request.query, request.headers, request.body)
        if operation == "DownloadCode":
            return emulator.code_zip(unquote(match["fn"]), match["package"])
        body = _json_body(request.body) if request.method in ("POST", "PUT") else {}
        if operation == "CreateFunction":
            return emulator.create_function(body, _signing_region(request.headers))
        if operation == "ListFunctions":
            return emulator.list_functions(request.query)
        assert ref is not None
        if operation == "GetFunction":
            return emulator.get_function(ref, request.query, request.headers.get("host", ""))
        if operation == "DeleteFunction":
            return emulator.delete_function(ref, request.query)
        if operation == "GetFunctionConfiguration":
            return emulator.get_configuration(ref, request.query)
        if operation == "UpdateFunctionConfiguration":
            return emulator.update_configuration(ref, body)
        if operation == "UpdateFunctionCode":
            return emulator.update_code(ref, body)
        if operation == "PublishVersion":
            return emulator.publish_version(ref, body)
        return emulator.list_versions(ref, request.query)
    _check(emulator, request, "")
    raise ApiError(
        "UnknownOperationException",
        f"the coldprof emulator does not implement {request.method} {request.path}",
    )


def _logs_operation(emulator: Emulator, request: Request, target: str) -> Response:
    """A CloudWatch Logs call (JSON 1.1), answered from the emulator's log store."""
    operation = target.removeprefix(emulator_logs.TARGET_PREFIX)
    _check(emulator, request, operation)
    content_type = "application/x-amz-json-1.1"
    try:
        if not target.startswith(emulator_logs.TARGET_PREFIX):
            raise emulator_logs.LogsApiError(
                "UnknownOperationException", f"the coldprof emulator does not serve {target}"
            )
        document = emulator.logs.handle(operation, _json_body(request.body))
    except ApiError as e:  # a body that is not a JSON object
        error = emulator_logs.LogsApiError("InvalidParameterException", e.message)
        return _logs_error(error, content_type)
    except emulator_logs.LogsApiError as e:
        return _logs_error(e, content_type)
    return Response(200, json.dumps(document).encode(), {}, content_type)


def _logs_error(error: emulator_logs.LogsApiError, content_type: str) -> Response:
    body = json.dumps(error.body()).encode()
    return Response(error.status, body, {"x-amzn-ErrorType": error.code}, content_type)


def _check(emulator: Emulator, request: Request, operation: str) -> None:
    refusal = check_request(
        operation,
        request.method,
        request.headers,
        request.body,
        request.port,
        emulator.options.require_auth,
    )
    if refusal is not None:
        raise ApiError(refusal.code, refusal.message)


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError as e:
        raise _invalid(f"the request body is not JSON: {e}") from e
    if not isinstance(parsed, dict):
        raise _invalid("the request body must be a JSON object")
    return parsed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-response is not the emulator's error


class _Server6(_Server):
    address_family = socket.AF_INET6


def _make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "coldprof-emulator"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self.close_connection = True
                error = ApiError(
                    "RequestTooLargeException",
                    f"Request must be smaller than {MAX_REQUEST_BYTES} bytes",
                )
                self._send(_json(error.status, error.body(), {"x-amzn-ErrorType": error.code}))
                return
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            port = int(getattr(self.server, "server_port", 0))
            request = Request(self.command, split.path, query, headers, body, port)
            try:
                response = dispatch(emulator, request)
            except Exception as e:  # noqa: BLE001 - one bad request must not kill the server
                error = ApiError("ServiceException", f"internal error: {type(e).__name__}: {e}")
                response = _json(error.status, error.body(), {"x-amzn-ErrorType": error.code})
            self._send(response)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            if response.status != 204 or response.body:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if response.body:
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

    return Handler


class LocalLambda:
    """The emulator in this process, on a loopback port; ``with LocalLambda() as endpoint_url``.

    Options mirror ``coldprof emulator``'s. The port defaults to an ephemeral one. On exit,
    every environment is killed and the code, the cgroups and the port are released.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        init_cpu: InitCpu | str = InitCpu.unthrottled,
        allow_remote: bool = False,
        update_seconds: float = DEFAULT_UPDATE_SECONDS,
        init_limit_s: float = INIT_LIMIT_S,
        cgroups: bool = True,
        on_log: Callable[[str], None] | None = None,
        runtime_dir: Path | None = None,
        require_auth: bool = True,
        log_dir: Path | None = None,
    ) -> None:
        self.options = EmulatorOptions(
            host=host,
            port=port,
            idle_seconds=idle_seconds,
            init_cpu=InitCpu(init_cpu),
            allow_remote=allow_remote,
            update_seconds=update_seconds,
            init_limit_s=init_limit_s,
            cgroups=cgroups,
            require_auth=require_auth,
            log_dir=log_dir,
        )
        self.on_log = on_log
        self._runtime_dir = runtime_dir
        self.emulator: Emulator | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        address = self._server.server_address
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        port = address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> str:
        """Bind, start serving on a thread, and return the endpoint URL."""
        from coldprof.build.package import cache_root, runtime_dir

        check_host(self.options.host, self.options.allow_remote)
        if self.options.log_dir is None:  # log groups outlive the emulator, as on AWS
            self.options = replace(self.options, log_dir=default_log_dir(cache_root()))
        runtime = self._runtime_dir or runtime_dir()
        emulator = Emulator(self.options, runtime, self.on_log)
        try:
            server_class = _Server6 if ":" in self.options.host else _Server
            self._server = server_class(
                (self.options.host, self.options.port), _make_handler(emulator)
            )
        except OSError as e:
            emulator.close()
            raise UsageError(
                f"cannot listen on {self.options.host}:{self.options.port}: {e.strerror or e}",
                hint="pick another --port, or --port 0 for a free one",
            ) from e
        self.emulator = emulator
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        url = self.endpoint_url
        if self.on_log is not None:
            self.on_log(f"coldprof emulator: listening on {url} (Lambda API 2015-03-31)")
            for note in emulator.notes():
                self.on_log(f"  {note}")
        return url

    def close(self) -> None:
        """Stop serving and kill every environment."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.emulator is not None:
            self.emulator.close()
        self._server = None
        self.emulator = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
