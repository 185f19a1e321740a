"""The Lambda calls coldprof makes: configuration snapshots, updates, waits, invokes, deploys."""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coldprof.aws.connection import AwsClient, Connection, Redactor, region_of_arn
from coldprof.aws.logs_api import LogsApi
from coldprof.lambda_facts import DEFAULT_REGION

# Waiters poll GetFunction; AWS's own default delay is 1 s. A loopback emulator settles in
# milliseconds, so polling it more often keeps local runs fast without a fixed sleep.
AWS_WAITER_DELAY_S = 1.0
LOCAL_WAITER_DELAY_S = 0.01
WAITER_MAX_WAIT_S = 300.0


# -- records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionSnapshot:
    """The configuration coldprof changes and must put back, plus what the report needs.

    `environment` holds variable values only in memory, to restore them: it is kept out of
    repr() and never written to a result.
    """

    name: str
    arn: str
    region: str
    runtime: str | None
    architecture: str
    package_type: str
    code_size_bytes: int
    memory_mb: int
    timeout_s: int
    description: str
    handler: str | None
    environment: Mapping[str, str] | None = field(repr=False)
    log_group: str
    state: str | None = None
    last_update_status: str | None = None
    runtime_version_arn: str | None = None  # the emulator names the Python that runs here

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.environment or {}))

    def differing_settings(self, other: FunctionSnapshot) -> list[str]:
        """The names of the settings that differ (never their values)."""
        names = []
        if self.memory_mb != other.memory_mb:
            names.append("MemorySize")
        if self.timeout_s != other.timeout_s:
            names.append("Timeout")
        if self.description != other.description:
            names.append("Description")
        if dict(self.environment or {}) != dict(other.environment or {}):
            names.append("Environment")
        return names


@dataclass(frozen=True)
class InvokeResponse:
    """One synchronous invoke: its request id, the log tail, and the function's error if any."""

    request_id: str
    status_code: int
    log_tail: str
    function_error: str | None = None
    error_type: str | None = None
    error_message: str | None = None  # redacted of the function's environment values
    started_at_ms: int = 0


# -- the client ----------------------------------------------------------------------------------
class LambdaApi(AwsClient):
    """The Lambda calls coldprof makes; `logs` reads the functions' CloudWatch Logs.

    `client` and `logs_client` may be passed in (tests pass stubbed ones); otherwise they are
    created on first use from `connection`. `sleep` is the backoff clock.
    """

    service = "lambda"

    def __init__(
        self,
        connection: Connection,
        *,
        client: Any = None,
        logs_client: Any = None,
        max_attempts: int = 6,
        base_delay_s: float = 0.5,
        max_delay_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        max_pool_connections: int = 10,
        redactor: Redactor | None = None,
    ) -> None:
        super().__init__(
            connection,
            client=client,
            max_attempts=max_attempts,
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
            sleep=sleep,
            max_pool_connections=max_pool_connections,
            redactor=redactor,
        )
        # One redactor for both: a variable read from Lambda is hidden in a Logs error too.
        self.logs = LogsApi(
            connection,
            client=logs_client,
            max_attempts=max_attempts,
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
            sleep=sleep,
            max_pool_connections=max_pool_connections,
            redactor=self.redact,
        )
        self.waiter_delay_s = LOCAL_WAITER_DELAY_S if connection.is_local else AWS_WAITER_DELAY_S

    # -- configuration ---------------------------------------------------------------------------
    def snapshot(self, function: str) -> FunctionSnapshot:
        """GetFunctionConfiguration, read into the record coldprof restores from."""
        data = self._call(
            f"reading the configuration of {function}",
            lambda: self.client.get_function_configuration(FunctionName=function),
        )
        config = snapshot_from_response(data, region_of_arn(function) or self._region())
        self.redact.add((config.environment or {}).values())
        return config

    def _region(self) -> str:
        return str(
            getattr(getattr(self._client, "meta", None), "region_name", None)
            or self.connection.region
            or DEFAULT_REGION
        )

    def update_configuration(
        self,
        function: str,
        *,
        memory_mb: int | None = None,
        environment: Mapping[str, str] | None = None,
        description: str | None = None,
        timeout_s: int | None = None,
    ) -> None:
        """UpdateFunctionConfiguration with only the given settings, then wait until it applied.

        `environment` replaces the whole variable map, as Lambda does: callers merge first.
        """
        params: dict[str, Any] = {"FunctionName": function}
        if memory_mb is not None:
            params["MemorySize"] = memory_mb
        if environment is not None:
            params["Environment"] = {"Variables": dict(environment)}
        if description is not None:
            params["Description"] = description
        if timeout_s is not None:
            params["Timeout"] = timeout_s
        action = f"updating the configuration of {function}"
        # An update racing another (ours, or someone's deploy) is a ResourceConflictException:
        # wait for the function to settle, then try again.
        self.wait_updated(function)
        self._call(action, lambda: self.client.update_function_configuration(**params))
        self.wait_updated(function)

    def wait_updated(self, function: str) -> None:
        self._wait("function_updated_v2", function, f"waiting for {function} to finish updating")

    def wait_active(self, function: str) -> None:
        self._wait("function_active_v2", function, f"waiting for {function} to become active")

    def _wait(self, waiter_name: str, function: str, action: str) -> None:
        delay = self.waiter_delay_s
        config = {"Delay": delay, "MaxAttempts": max(1, int(WAITER_MAX_WAIT_S / delay))}
        waiter = self.client.get_waiter(waiter_name)
        self._call(action, lambda: waiter.wait(FunctionName=function, WaiterConfig=config))

    # -- invoke ----------------------------------------------------------------------------------
    def invoke(self, function: str, payload: bytes) -> InvokeResponse:
        """A synchronous invoke with LogType=Tail; a function error is data, not an exception."""
        started = int(time.time() * 1000)

        def call() -> tuple[dict[str, Any], bytes]:
            response = self.client.invoke(
                FunctionName=function,
                InvocationType="RequestResponse",
                LogType="Tail",
                Payload=payload,
            )
            # The payload streams after the headers: a connection that breaks while it is
            # read (an endpoint that went away) is a transport error like any other.
            body = response.get("Payload")
            return response, body.read() if hasattr(body, "read") else (body or b"")

        response, raw = self._call(f"invoking {function}", call)
        tail = response.get("LogResult") or ""
        try:
            log_tail = base64.b64decode(tail).decode("utf-8", errors="replace") if tail else ""
        except ValueError:
            log_tail = ""
        function_error = response.get("FunctionError")
        error_type = error_message = None
        if function_error:
            error_type, error_message = _error_payload(raw)
            if error_message is not None:
                error_message = self.redact(error_message)
        return InvokeResponse(
            request_id=str(response.get("ResponseMetadata", {}).get("RequestId", "")),
            status_code=int(response.get("StatusCode", 0)),
            log_tail=log_tail,
            function_error=function_error,
            error_type=error_type,
            error_message=error_message,
            started_at_ms=started,
        )

    # -- reading an account's logs -------------------------------------------------------------
    def list_functions(self) -> list[FunctionSnapshot]:
        """Every function in the region (ListFunctions, all pages). Variable values stay here."""
        configs: list[FunctionSnapshot] = []
        marker: str | None = None
        while True:
            kwargs = {"Marker": marker} if marker else {}
            page = self._call(
                "listing the account's functions",
                functools.partial(self.client.list_functions, **kwargs),
            )
            functions = page.get("Functions", [])
            configs += [snapshot_from_response(f, self._region()) for f in functions]
            marker = page.get("NextMarker")
            if not marker:
                return configs

    # -- deploys ---------------------------------------------------------------------------------
    def create_function(
        self,
        name: str,
        *,
        zip_bytes: bytes,
        role: str,
        handler: str,
        runtime: str,
        architecture: str,
        memory_mb: int,
        timeout_s: int,
        description: str,
        environment: Mapping[str, str] | None = None,
        layers: Sequence[str] = (),
    ) -> str:
        """CreateFunction from a zip, wait until it is Active, and return its ARN."""
        extra: dict[str, Any] = {}
        if environment:
            extra["Environment"] = {"Variables": dict(environment)}
        if layers:
            extra["Layers"] = list(layers)
        response = self._call(
            f"creating the function {name}",
            lambda: self.client.create_function(
                FunctionName=name,
                Runtime=runtime,
                Role=role,
                Handler=handler,
                Code={"ZipFile": zip_bytes},
                Description=description,
                Timeout=timeout_s,
                MemorySize=memory_mb,
                Architectures=[architecture],
                Publish=False,
                Tags={"coldprof": "temporary"},
                **extra,
            ),
        )
        self.wait_active(name)
        return str(response.get("FunctionArn", name))

    def delete_function(self, function: str) -> None:
        self._call(
            f"deleting the function {function}",
            lambda: self.client.delete_function(FunctionName=function),
        )


def snapshot_from_response(data: Mapping[str, Any], region: str) -> FunctionSnapshot:
    """A snapshot from GetFunctionConfiguration's (or GetFunction's Configuration) shape."""
    environment = data.get("Environment")
    variables: Mapping[str, str] | None = None
    if isinstance(environment, Mapping) and environment.get("Variables") is not None:
        variables = {str(k): str(v) for k, v in environment["Variables"].items()}
    architectures = data.get("Architectures") or ["x86_64"]
    name = str(data.get("FunctionName", ""))
    logging = data.get("LoggingConfig") or {}
    return FunctionSnapshot(
        name=name,
        arn=str(data.get("FunctionArn", name)),
        region=region_of_arn(str(data.get("FunctionArn", ""))) or region,
        runtime=data.get("Runtime"),
        architecture=str(architectures[0]),
        package_type=str(data.get("PackageType") or "Zip"),
        code_size_bytes=int(data.get("CodeSize") or 0),
        memory_mb=int(data.get("MemorySize") or 128),
        timeout_s=int(data.get("Timeout") or 3),
        description=str(data.get("Description") or ""),
        handler=data.get("Handler"),
        environment=variables,
        log_group=str(logging.get("LogGroup") or f"/aws/lambda/{name}"),
        state=data.get("State"),
        last_update_status=data.get("LastUpdateStatus"),
        runtime_version_arn=(data.get("RuntimeVersionConfig") or {}).get("RuntimeVersionArn"),
    )


def _error_payload(raw: bytes) -> tuple[str | None, str | None]:
    """errorType and errorMessage from a function error's payload."""
    try:
        data = json.loads(raw.decode("utf-8", errors="replace")) if raw else None
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    error_type = data.get("errorType")
    message = data.get("errorMessage")
    return (
        str(error_type) if error_type is not None else None,
        " ".join(str(message).split())[:300] if message is not None else None,
    )
