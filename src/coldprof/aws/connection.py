"""Where AWS calls go and how they are made: endpoint, credentials, region, retries, errors."""

from __future__ import annotations

import ipaddress
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
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
T = TypeVar("T")
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)(?::.+)?$")


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



# -- the calls ---------------------------------------------------------------------------------
class AwsClient:
    """One AWS service's calls, with retries of conflicts and throttling, and errors mapped.

    `client` may be passed in (tests pass stubbed ones); otherwise it is created on first use
    from `connection`. `sleep` is the backoff clock. Subclasses name their `service`.
    """

    service = ""

    def __init__(
        self,
        connection: Connection,
        *,
        client: Any = None,
        max_attempts: int = 6,
        base_delay_s: float = 0.5,
        max_delay_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        max_pool_connections: int = 10,
        redactor: Redactor | None = None,
    ) -> None:
        self.connection = connection
        self._client = client
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._sleep = sleep
        self._pool = max_pool_connections
        self.redact = redactor or Redactor()

    # Built lazily, and boto3 imported here alone: importing it costs ~0.3 s, and `--help` must
    # not pay it.
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client(self.service)
        return self._client

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
        operation: Callable[[], T],
        retry: bool = True,
        retryable: frozenset[str] = RETRYABLE_CODES,
    ) -> T:
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

    def _aws_error(self, action: str, error: object, attempts: int = 1) -> LambdaCallError:
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

    def _waiter_error(self, action: str, error: object) -> LambdaCallError:
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


def _waiter_error_code(error: object) -> str | None:
    last = getattr(error, "last_response", None)
    if isinstance(last, dict) and "Error" in last:
        return str(last["Error"].get("Code") or "Error")
    return None


def _error_code(error: object) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or "Error")


def _error_message(error: object) -> str:
    response = getattr(error, "response", None) or {}
    message = response.get("Error", {}).get("Message") or ""
    return " ".join(str(message).split())


class _FakeClientError:
    """The shape `_aws_error` reads, for an error found inside a waiter's last response."""

    def __init__(self, code: str, message: str) -> None:
        self.response = {"Error": {"Code": code, "Message": message}}

