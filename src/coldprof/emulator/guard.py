"""What the emulator accepts: API clients on this machine, never a web page in a browser."""

# The emulator runs any code it is sent, so a request it serves is as good as a shell. A page open
# in the developer's browser can send one without a CORS preflight (a POST with `Content-Type:
# text/plain`), and a DNS-rebinding page can even read the replies. Each rule below shuts one door:
#
# - a browser always sends `Origin` on a cross-origin POST, and API clients never do;
# - a rebinding page reaches us under its own host name, which is not the address we listen on;
# - a simple (no-preflight) request cannot carry `Content-Type: application/json`;
# - nor an `Authorization` header: boto3 always signs (SigV4), even with dummy keys.

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

# Operations whose body the Lambda API defines as JSON. Invoke's body is the function's payload,
# any bytes, and boto3 sends it with no Content-Type at all.
JSON_BODY_OPERATIONS = frozenset(
    {
        "CreateFunction",
        "UpdateFunctionConfiguration",
        "UpdateFunctionCode",
        "PublishVersion",
        # CloudWatch Logs, served on the same port (JSON 1.1)
        "DescribeLogGroups",
        "DescribeLogStreams",
        "FilterLogEvents",
    }
)
# GetFunction's Code.Location is fetched like a presigned S3 URL: plain GET, no signature.
UNSIGNED_OPERATIONS = frozenset({"DownloadCode"})


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused, shaped as Lambda's errors are."""

    status: int
    code: str
    message: str


def _host_name(host_header: str) -> tuple[str, str]:
    """Split a Host header into its name and port; IPv6 literals keep no brackets."""
    if host_header.startswith("["):
        name, _, rest = host_header[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = host_header.rpartition(":")
    if not name:  # no port given
        return host_header, ""
    return name, port


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return True


def check_request(
    operation: str,
    method: str,
    headers: Mapping[str, str],
    body: bytes,
    port: int,
    require_auth: bool,
) -> Refusal | None:
    """The reason to refuse this request, or None to serve it. ``headers`` has lower-cased names."""
    if "origin" in headers:
        return Refusal(
            403,
            "AccessDeniedException",
            "the coldprof emulator serves API clients, not web pages: requests with an Origin "
            "header are refused",
        )
    name, host_port = _host_name(headers.get("host", ""))
    if not (name == "localhost" or _is_address(name)) or host_port not in ("", str(port)):
        return Refusal(
            403,
            "AccessDeniedException",
            f"the coldprof emulator answers only to its own address, not to Host {name!r}: "
            "use http://127.0.0.1:PORT as the endpoint URL",
        )
    if method in ("POST", "PUT") and operation in JSON_BODY_OPERATIONS and body.strip():
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/x-amz-json-1.1"):
            return Refusal(
                415,
                "UnsupportedMediaTypeException",
                f"{operation} takes a JSON body (Content-Type: application/json), "
                f"not {content_type or 'none'}",
            )
    if require_auth and operation not in UNSIGNED_OPERATIONS:
        if not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return Refusal(
                403,
                "MissingAuthenticationTokenException",
                "the request is not signed (SigV4): use an AWS SDK with any credentials, "
                "or start the emulator with --no-auth",
            )
    return None
