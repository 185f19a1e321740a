"""The one module that talks to AWS: Lambda configuration snapshots, updates, waits and invokes."""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from coldprof.errors import AwsError, ColdprofError, UsageError
from coldprof.lambda_facts import DEFAULT_REGION

# Errors that mean "not now": a configuration update still in progress, or throttling.
RETRYABLE_CODES = frozenset(
    {
        "ResourceConflictException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceException",
    }
)
# Logs Insights says "too many queries at once" with LimitExceededException: wait and retry.
INSIGHTS_RETRYABLE_CODES = RETRYABLE_CODES | {"LimitExceededException"}
_ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredToken",
        "ExpiredTokenException",
        "KMSAccessDeniedException",
    }
)
# Secrets shorter than this are not redacted from free text: "1" or "on" would shred messages.
_MIN_SECRET_LENGTH = 4
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)(?::.+)?$")
# Waiters poll GetFunction; AWS's own default delay is 1 s. A loopback emulator settles in
# milliseconds, so polling it more often keeps local runs fast without a fixed sleep.
AWS_WAITER_DELAY_S = 1.0
LOCAL_WAITER_DELAY_S = 0.01
WAITER_MAX_WAIT_S = 300.0


class LambdaCallError(AwsError):
    """A failed AWS call, with the AWS error code ("Transport" when AWS was never reached)."""

    def __init__(self, message: str, hint: str | None = None, code: str = "Error") -> None:
        super().__init__(message, hint)
        self.code = code

    @property
    def affects_whole_function(self) -> bool:
        """True when retrying with other settings cannot help: no access, no function, no link."""
        return self.code in _ACCESS_CODES or self.code in (
            "ResourceNotFoundException",
            "Transport",
        )


# -- where to connect ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Connection:
    """Where Lambda calls go: a region, a named profile, and an endpoint URL for emulators."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    @classmethod
    def from_options(
        cls, region: str | None, profile: str | None, endpoint_url: str | None
    ) -> Connection:
        """Fill what was not given as the AWS CLI and SDKs do.

        The endpoint from AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL; the region from AWS_REGION
        (which botocore ignores, though Lambda itself and most SDKs set and read it), then
        AWS_DEFAULT_REGION. The profile's region comes after these, from boto3.
        """
        region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
        )
        url = (
            endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_LAMBDA")
            or os.environ.get("AWS_ENDPOINT_URL")
            or None
        )
        return cls(region=region, profile=profile, endpoint_url=url)

    @property
    def is_local(self) -> bool:
        """True when the endpoint is on this machine (an emulator), so nothing is billed."""
        return is_loopback_url(self.endpoint_url)


def is_loopback_url(url: str | None) -> bool:
    if not url:
        return False
    host = urlparse(url if "//" in url else f"http://{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def region_of_arn(name_or_arn: str) -> str | None:
    match = _ARN.match(name_or_arn)
    return match.group(1) if match else None


# -- records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionConfig:
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

    def differing_settings(self, other: FunctionConfig) -> list[str]:
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
class Invocation:
    """One synchronous invoke: its request id, the log tail, and the function's error if any."""

    request_id: str
    status_code: int
    log_tail: str
    function_error: str | None = None
    error_type: str | None = None
    error_message: str | None = None  # redacted of the function's environment values
    started_at_ms: int = 0


class Redactor:
    """Replaces known secret values (the functions' environment values) in free text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        self._secrets.update(v for v in values if len(v) >= _MIN_SECRET_LENGTH)

    def __call__(self, text: str) -> str:
        # Longest first, so a secret containing another is replaced whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "***")
        return text


# -- the client ----------------------------------------------------------------------------------
class LambdaApi:
    """The Lambda (and CloudWatch Logs) calls coldprof makes, with retries and error mapping.

    `client` and `logs_client` may be passed in (tests pass stubbed ones); otherwise they are
    created on first use from `connection`. `sleep` is the backoff clock.
    """

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
        self.connection = connection
        self._client = client
        self._logs_client = logs_client
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._sleep = sleep
        self._pool = max_pool_connections
        self.redact = redactor or Redactor()
        self.waiter_delay_s = LOCAL_WAITER_DELAY_S if connection.is_local else AWS_WAITER_DELAY_S

    # clients are built lazily: importing boto3 costs ~0.3 s, and `--help` must not pay it
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client("lambda")
        return self._client

    @property
    def logs_client(self) -> Any:
        if self._logs_client is None:
            self._logs_client = self._make_client("logs")
        return self._logs_client

    def _make_client(self, service: str) -> Any:
        try:
            import boto3
            import botocore.config
            import botocore.exceptions
        except ImportError as e:  # pragma: no cover - boto3 is a dependency
            raise AwsError("boto3 is not installed", hint="pip install boto3") from e
        try:
            credentials: dict[str, str] = {}
            if self.connection.is_local and not self.connection.profile:
                # Never send real credentials to an emulator, and need none to run one.
                credentials = {
                    "aws_access_key_id": "coldproflocal",
                    "aws_secret_access_key": "coldproflocal",
                    "aws_session_token": "coldproflocal",
                }
            session = boto3.session.Session(
                profile_name=self.connection.profile,
                region_name=self.connection.region,
                **credentials,
            )
            # An emulator needs some region to sign for, but LocalStack keeps functions per
            # region: the profile's region wins over this last resort.
            region = session.region_name or (DEFAULT_REGION if self.connection.is_local else None)
            config = botocore.config.Config(
                # An invoke can run for up to the function's 15-minute timeout.
                read_timeout=960,
                connect_timeout=10,
                max_pool_connections=self._pool,
                # coldprof retries conflicts and throttling itself; botocore keeps its retries
                # for dropped connections.
                retries={"mode": "standard", "max_attempts": 3},
            )
            endpoint = self.connection.endpoint_url if service == "lambda" else None
            if service == "logs":
                endpoint = os.environ.get("AWS_ENDPOINT_URL_LOGS") or self.connection.endpoint_url
            return session.client(
                service, region_name=region, endpoint_url=endpoint, config=config
            )
        except botocore.exceptions.ProfileNotFound as e:
            raise UsageError(
                f"{self._profile_source()}: no such AWS profile",
                hint="list the profiles with `aws configure list-profiles`",
            ) from e
        except botocore.exceptions.NoRegionError as e:
            raise UsageError(
                "no AWS region configured",
                hint="pass --region, set AWS_REGION, or give functions as full ARNs",
            ) from e
        except botocore.exceptions.BotoCoreError as e:
            raise AwsError(f"could not create the {service} client: {e}") from e

    def _profile_source(self) -> str:
        """How the user named the profile: `--profile X`, or `AWS_PROFILE=X` from the shell."""
        if self.connection.profile:
            return f"--profile {self.connection.profile}"
        name = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
        return f"AWS_PROFILE={name}"

    # -- error handling ------------------------------------------------------------------------
    def _call(
        self,
        action: str,
        operation: Callable[[], Any],
        retry: bool = True,
        retryable: frozenset[str] = RETRYABLE_CODES,
    ) -> Any:
        """Run one API call, retrying conflicts and throttling with jittered backoff."""
        import botocore.exceptions

        attempt = 0
        while True:
            attempt += 1
            try:
                return operation()
            except botocore.exceptions.ClientError as e:
                code = _error_code(e)
                if retry and code in retryable and attempt < self.max_attempts:
                    self._sleep(self._backoff(attempt))
                    continue
                raise self._aws_error(action, e, attempts=attempt) from e
            except botocore.exceptions.WaiterError as e:
                # A waiter gives up on the first error its acceptors do not name, throttling too.
                waiter_code = _waiter_error_code(e)
                if retry and waiter_code in RETRYABLE_CODES and attempt < self.max_attempts:
                    self._sleep(self._backoff(attempt))
                    continue
                raise self._waiter_error(action, e) from e
            except (botocore.exceptions.BotoCoreError, OSError) as e:
                raise self._transport_error(action, e) from e

    def _backoff(self, attempt: int) -> float:
        # "Full jitter": spread retries so parallel callers do not collide again.
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _aws_error(self, action: str, error: Any, attempts: int = 1) -> LambdaCallError:
        code = _error_code(error)
        message = self.redact(_error_message(error))
        text = f"{action}: {code}: {message}" if message else f"{action}: {code}"
        if code in _ACCESS_CODES:
            return LambdaCallError(
                text,
                hint="the credentials in use lack this permission, or have expired; "
                "check --profile/--region and the IAM policy",
                code=code,
            )
        if code == "ResourceNotFoundException":
            return LambdaCallError(
                text, hint="check the function name or ARN, and --region", code=code
            )
        if code in RETRYABLE_CODES:
            return LambdaCallError(f"{text} (gave up after {attempts} attempts)", code=code)
        return LambdaCallError(text, code=code)

    def _transport_error(self, action: str, error: BaseException) -> ColdprofError:
        import botocore.exceptions

        if isinstance(error, botocore.exceptions.NoCredentialsError):
            return LambdaCallError(
                f"{action}: no AWS credentials found",
                hint="configure credentials, or pass --profile; --local needs none",
                code="AccessDeniedException",
            )
        if isinstance(error, botocore.exceptions.NoRegionError):
            return UsageError(f"{action}: no AWS region configured", hint="pass --region")
        where = self.connection.endpoint_url or "AWS"
        return LambdaCallError(
            f"{action}: could not reach {where}: {self.redact(str(error))}", code="Transport"
        )

    def _waiter_error(self, action: str, error: Any) -> LambdaCallError:
        last = getattr(error, "last_response", None) or {}
        configuration = last.get("Configuration", {}) if isinstance(last, dict) else {}
        reason = configuration.get("LastUpdateStatusReason") or configuration.get("StateReason")
        if isinstance(last, dict) and "Error" in last:
            code = last["Error"].get("Code", "Error")
            message = last["Error"].get("Message", "")
            return self._aws_error(action, _FakeClientError(code, message))
        status = configuration.get("LastUpdateStatus") or configuration.get("State")
        detail = self.redact(reason) if reason else self.redact(str(error))
        prefix = f"{action}: {status}" if status else action
        return LambdaCallError(f"{prefix}: {detail}", code=f"Waiter{status or ''}")

    # -- configuration ---------------------------------------------------------------------------
    def snapshot(self, function: str) -> FunctionConfig:
        """GetFunctionConfiguration, read into the record coldprof restores from."""
        data = self._call(
            f"reading the configuration of {function}",
            lambda: self.client.get_function_configuration(FunctionName=function),
        )
        config = config_from_response(data, region_of_arn(function) or self._region())
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
    def invoke(self, function: str, payload: bytes) -> Invocation:
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
        return Invocation(
            request_id=str(response.get("ResponseMetadata", {}).get("RequestId", "")),
            status_code=int(response.get("StatusCode", 0)),
            log_tail=log_tail,
            function_error=function_error,
            error_type=error_type,
            error_message=error_message,
            started_at_ms=started,
        )

    def logs_for_request(
        self, log_group: str, request_id: str, since_ms: int, attempts: int = 6
    ) -> str:
        """The REPORT for `request_id` from CloudWatch Logs, when the tail lacked it.

        Log delivery lags the invoke by a few seconds, so this polls with backoff; an empty
        string means the record never showed up.
        """
        action = f"reading {log_group} from CloudWatch Logs"
        for attempt in range(1, attempts + 1):
            response = self._call(
                action,
                lambda: self.logs_client.filter_log_events(
                    logGroupName=log_group,
                    startTime=max(0, since_ms - 60_000),
                    filterPattern=f'"{request_id}"',
                ),
            )
            messages = [e.get("message", "") for e in response.get("events", [])]
            text = "\n".join(m.rstrip("\n") for m in messages)
            if "REPORT" in text or "platform.report" in text:
                return text
            if attempt < attempts:
                self._sleep(self._backoff(attempt))
        return ""

    # -- reading an account's logs -------------------------------------------------------------
    def list_functions(self) -> list[FunctionConfig]:
        """Every function in the region (ListFunctions, all pages). Variable values stay here."""
        configs: list[FunctionConfig] = []
        marker: str | None = None
        while True:
            kwargs = {"Marker": marker} if marker else {}
            page = self._call(
                "listing the account's functions",
                functools.partial(self.client.list_functions, **kwargs),
            )
            configs += [config_from_response(f, self._region()) for f in page.get("Functions", [])]
            marker = page.get("NextMarker")
            if not marker:
                return configs

    def log_group_names(self, prefix: str) -> list[str]:
        """The log groups whose names start with ``prefix`` (DescribeLogGroups, all pages)."""
        names: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupNamePrefix": prefix}
            if token:
                kwargs["nextToken"] = token
            page = self._call(
                "listing log groups",
                functools.partial(self.logs_client.describe_log_groups, **kwargs),
            )
            names += [str(g["logGroupName"]) for g in page.get("logGroups", [])]
            token = page.get("nextToken")
            if not token:
                return names

    def start_query(
        self, log_groups: Iterable[str], start_ms: int, end_ms: int, query: str, limit: int
    ) -> str:
        """StartQuery (Logs Insights) over several log groups; returns the query id."""
        groups = list(log_groups)
        response = self._call(
            f"starting a Logs Insights query over {len(groups)} log groups",
            lambda: self.logs_client.start_query(
                logGroupNames=groups,
                startTime=start_ms // 1000,
                endTime=-(-end_ms // 1000),
                queryString=query,
                limit=limit,
            ),
            retryable=INSIGHTS_RETRYABLE_CODES,
        )
        return str(response["queryId"])

    def query_results(self, query_id: str) -> Mapping[str, Any]:
        """GetQueryResults: the query's status and, once complete, its rows."""
        result: Mapping[str, Any] = self._call(
            "reading a Logs Insights query's results",
            lambda: self.logs_client.get_query_results(queryId=query_id),
            retryable=INSIGHTS_RETRYABLE_CODES,
        )
        return result

    def filter_log_events(
        self, log_group: str, start_ms: int, end_ms: int, pattern: str
    ) -> list[Mapping[str, Any]]:
        """FilterLogEvents over the whole window, all pages: each event's stream and message."""
        events: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": log_group,
                "startTime": start_ms,
                "endTime": end_ms,
                "filterPattern": pattern,
            }
            if token:
                kwargs["nextToken"] = token
            page = self._call(
                f"reading {log_group}",
                functools.partial(self.logs_client.filter_log_events, **kwargs),
            )
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token:
                return events

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


def config_from_response(data: Mapping[str, Any], region: str) -> FunctionConfig:
    """A FunctionConfig from GetFunctionConfiguration's (or GetFunction's Configuration) shape."""
    environment = data.get("Environment")
    variables: Mapping[str, str] | None = None
    if isinstance(environment, Mapping) and environment.get("Variables") is not None:
        variables = {str(k): str(v) for k, v in environment["Variables"].items()}
    architectures = data.get("Architectures") or ["x86_64"]
    name = str(data.get("FunctionName", ""))
    logging = data.get("LoggingConfig") or {}
    return FunctionConfig(
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


def _waiter_error_code(error: Any) -> str | None:
    last = getattr(error, "last_response", None)
    if isinstance(last, dict) and "Error" in last:
        return str(last["Error"].get("Code") or "Error")
    return None


def _error_code(error: Any) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or "Error")


def _error_message(error: Any) -> str:
    response = getattr(error, "response", None) or {}
    message = response.get("Error", {}).get("Message") or ""
    return " ".join(str(message).split())


class _FakeClientError:
    """The shape `_aws_error` reads, for an error found inside a waiter's last response."""

    def __init__(self, code: str, message: str) -> None:
        self.response = {"Error": {"Code": code, "Message": message}}


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
