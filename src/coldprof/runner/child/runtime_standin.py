"""coldprof's stand-in runtime client, where awslambdaric cannot be installed (macOS, Windows).

It speaks the same Runtime API with the same init boundary: import the handler's module, then
the first `GET /2018-06-01/runtime/invocation/next`. It runs in the function's interpreter, by
path, where coldprof is not importable: standard library only. What it does not do as
awslambdaric does is listed in the README ("Where awslambdaric cannot run"). Its annotations are
quoted: ``from __future__`` would be one more import in every init.
"""

import importlib
import io
import json
import logging
import os
import socket
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Handler = Callable[[object, "LambdaContext"], object]
    Failure = tuple[str, str, list[str]]  # errorType, errorMessage, stack

_PREFIX = "/2018-06-01/runtime"


class _Api:
    """The Runtime API over one kept-alive HTTP/1.1 connection. A socket, not http.client:
    that module imports the email package, which would add to every init what awslambdaric
    (an HTTP client in C) does not."""

    def __init__(self, address: "str") -> None:
        host, _, port = address.rpartition(":")
        self._socket = socket.create_connection((host, int(port)))
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = self._socket.makefile("rb")

    def request(
        self,
        method: "str",
        path: "str",
        body: "bytes" = b"",
        headers: "dict[str, str] | None" = None,
    ) -> "tuple[bytes, dict[str, str]]":
        lines = [f"{method} {_PREFIX}{path} HTTP/1.1", "Host: runtime"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        self._socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self._reader.readline()  # the status line
        received: dict[str, str] = {}
        while True:
            line = self._reader.readline().decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            received[name.strip().lower()] = value.strip()
        length = int(received.get("content-length") or 0)
        return (self._reader.read(length) if length else b""), received

    def post_error(
        self, path: "str", error_type: "str", message: "str", stack: "list[str]"
    ) -> None:
        body = {"errorMessage": message, "errorType": error_type, "stackTrace": stack}
        headers = {"Lambda-Runtime-Function-Error-Type": error_type}
        self.request("POST", path, json.dumps(body).encode(), headers)


class LambdaContext:
    """The handler's context object, with the attributes Lambda's Python context has."""

    def __init__(self, headers: "dict[str, str]") -> None:
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id", "")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity: object = None
        self.client_context: object = None
        if headers.get("lambda-runtime-client-context"):
            self.client_context = json.loads(headers["lambda-runtime-client-context"])
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)

    def get_remaining_time_in_millis(self) -> "int":
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: "logging.LogRecord") -> "bool":
        record.aws_request_id = self.request_id
        return True


def _set_up_logging() -> "_RequestIdFilter":
    """The managed runtime's text log lines: level, UTC time, request id, message."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    request_ids = _RequestIdFilter()
    handler.addFilter(request_ids)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    return request_ids


def _stack(error: "BaseException") -> "list[str]":
    import traceback  # on failure only: a clean init does not pay for it

    return [line.rstrip("\n") for line in traceback.format_tb(error.__traceback__)]


def _load_handler(spec: "str") -> "Handler | Failure":
    """The handler, or (errorType, errorMessage, stack) as the managed runtime says."""
    module_name, _, function_name = spec.rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)  # looked up now: tracing shims wrap it
    except ImportError as e:
        return (
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {e}",
            _stack(e),
        )
    except SyntaxError as e:
        message = f"Syntax error in module '{module_name}': {e}"
        return ("Runtime.UserCodeSyntaxError", message, [])
    except Exception as e:
        return (type(e).__name__, str(e), _stack(e))
    handler: object = getattr(module, function_name, None)
    if not callable(handler):
        return (
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
            [],
        )
    return handler


def main() -> None:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # the function's prints reach the log as made
    api = _Api(os.environ["AWS_LAMBDA_RUNTIME_API"])
    request_ids = _set_up_logging()
    handler = _load_handler(sys.argv[1])
    if isinstance(handler, tuple):
        error_type, message, stack = handler
        print(f"[ERROR] {error_type}: {message}", flush=True)
        if stack:
            print("Traceback (most recent call last):\n" + "\n".join(stack), flush=True)
        api.post_error("/init/error", error_type, message, stack)
        sys.exit(1)
    while True:
        body, headers = api.request("GET", "/invocation/next")  # the end of init, on the first
        context = LambdaContext(headers)
        request_ids.request_id = context.aws_request_id
        path = f"/invocation/{context.aws_request_id}"
        try:
            result = handler(json.loads(body or b"null"), context)
        except Exception as e:
            print(f"[ERROR] {type(e).__name__}: {e}", flush=True)
            import traceback

            traceback.print_exc(file=sys.stdout)
            api.post_error(path + "/error", type(e).__name__, str(e), _stack(e))
            continue
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as e:
            message = f"Unable to marshal response: {e}"
            api.post_error(path + "/error", "Runtime.MarshalError", message, [])
            continue
        api.request("POST", path + "/response", payload)


if __name__ == "__main__":
    main()
