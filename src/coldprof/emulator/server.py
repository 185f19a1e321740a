"""The emulator's HTTP front: the request handler, its servers, and `LocalLambda` to run one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from coldprof.build.archive import MAX_ZIPPED_BYTES
from coldprof.build.cache import cache_root
from coldprof.build.runtime_dir import runtime_dir
from coldprof.emulator.options import (
    DEFAULT_HOST,
    DEFAULT_IDLE_SECONDS,
    DEFAULT_UPDATE_SECONDS,
    EmulatorOptions,
    InitCpu,
    check_host,
    default_log_dir,
)
from coldprof.emulator.responses import ApiError, Response, error_response
from coldprof.emulator.routing import Request, dispatch
from coldprof.emulator.service import Emulator
from coldprof.errors import UsageError
from coldprof.lambda_facts import INIT_LIMIT_S

# A direct upload of 50 MB, base64-encoded in a JSON body, with room for the rest.
MAX_REQUEST_BYTES = MAX_ZIPPED_BYTES * 4 // 3 + 1024 * 1024


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
                self._send(error_response(error))
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
                response = error_response(error)
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
