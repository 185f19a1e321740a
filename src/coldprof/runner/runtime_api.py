"""The Lambda Runtime API (2018-06-01) that one execution environment's runtime talks to."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PREFIX = "/2018-06-01/runtime"


@dataclass(frozen=True)
class Invocation:
    """One event handed to the runtime, with the headers Lambda sends alongside it."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str = field(
        default_factory=lambda: f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
    )
    client_context: str | None = None


@dataclass(frozen=True)
class InvocationOutcome:
    """What the runtime posted back for one invocation."""

    request_id: str
    ok: bool
    body: bytes
    error_type: str | None = None
    finished_at: float = 0.0  # time.perf_counter() when the response arrived


class RuntimeApi:
    """A Runtime API server on a loopback ephemeral port, serving one runtime process.

    The moment of the first ``GET .../invocation/next`` is the end of init, the boundary
    Lambda's Init Duration measures; ``next_polled_at`` records it with perf_counter.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._pending: queue.Queue[Invocation | None] = queue.Queue()
        self._outcomes: dict[str, queue.Queue[InvocationOutcome]] = {}
        self._lock = threading.Lock()
        self.first_next_at: float | None = None
        self.next_polls = 0
        self.init_error: dict[str, Any] | None = None
        self.init_error_type: str | None = None
        self.ready = threading.Event()  # set on the first /next or on an init error
        self._closed = False
        self._server = _QuietServer((host, 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pending.put(None)  # releases a runtime blocked in /next
        if self._thread.is_alive():
            # shutdown() waits for serve_forever's next look at its flag; a connection wakes
            # its select() now, so a cold start's teardown costs no poll interval (and an idle
            # environment's server does not spin meanwhile).
            stopper = threading.Thread(target=self._server.shutdown, daemon=True)
            stopper.start()
            with contextlib.suppress(OSError):
                host, port = self.address.rsplit(":", 1)
                socket.create_connection((host, int(port)), timeout=0.5).close()
            stopper.join(2.0)
        self._server.server_close()

    def __enter__(self) -> RuntimeApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, invocation: Invocation) -> queue.Queue[InvocationOutcome]:
        """Queue an invocation; the returned queue receives its outcome."""
        box: queue.Queue[InvocationOutcome] = queue.Queue(maxsize=1)
        with self._lock:
            self._outcomes[invocation.request_id] = box
        self._pending.put(invocation)
        return box

    # Called from the request handler threads.
    def _on_next(self) -> Invocation | None:
        with self._lock:
            self.next_polls += 1
            if self.first_next_at is None:
                self.first_next_at = time.perf_counter()
                self.ready.set()
        return self._pending.get()

    def _on_result(self, request_id: str, ok: bool, body: bytes, error_type: str | None) -> bool:
        with self._lock:
            box = self._outcomes.pop(request_id, None)
        if box is None:
            return False
        box.put(InvocationOutcome(request_id, ok, body, error_type, time.perf_counter()))
        return True

    def _on_init_error(self, body: bytes, error_type: str | None) -> None:
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = {"errorMessage": body.decode("utf-8", "replace")}
        with self._lock:
            self.init_error = parsed if isinstance(parsed, dict) else {"errorMessage": str(parsed)}
            self.init_error_type = error_type
        self.ready.set()


class _QuietServer(ThreadingHTTPServer):
    """A runtime killed mid-request resets its connection; that is expected, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _make_handler(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes; with Nagle on, delayed ACKs add ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the runtime's requests are not the user's business

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reply(
            self, status: HTTPStatus, body: bytes = b"{}", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path != f"{_PREFIX}/invocation/next":
                self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage":"unknown path"}')
                return
            invocation = api._on_next()
            if invocation is None:  # shutting down: leave the runtime blocked until killed
                self.close_connection = True
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                # awslambdaric fails without a trace id header
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            }
            if invocation.client_context:
                headers["Lambda-Runtime-Client-Context"] = invocation.client_context
            self._reply(HTTPStatus.OK, invocation.payload, headers)

        def do_POST(self) -> None:  # noqa: N802
            body = self._read_body()
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
            path = self.path
            if path == f"{_PREFIX}/init/error":
                api._on_init_error(body, error_type)
                self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                return
            prefix = f"{_PREFIX}/invocation/"
            if path.startswith(prefix) and path.count("/") == 5:
                request_id, _, verb = path[len(prefix) :].partition("/")
                if verb in ("response", "error"):
                    ok = verb == "response"
                    if api._on_result(request_id, ok, body, None if ok else error_type):
                        self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                    else:
                        self._reply(
                            HTTPStatus.BAD_REQUEST, b'{"errorMessage":"unknown request id"}'
                        )
                    return
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage":"unknown path"}')

    return Handler
