"""A child's output, read as it comes so that the child never blocks on a full pipe."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from typing import IO


class OutputCapture:
    """Reads a child's pipe on a thread, so the child never blocks on a full pipe."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            raise ValueError("the child was started without this pipe")
        self._fd = stream.fileno()
        self._stream = stream
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd], [], [], 0.05)
                if not ready:
                    continue
                with self._lock:
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        break
                    self._buf.extend(chunk)
        except (OSError, ValueError):
            pass
        finally:
            self._done.set()

    def mark(self) -> int:
        """Offset of everything written so far; the writer must be idle (blocked in /next)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not self._done.is_set():
            with self._lock:
                try:
                    readable = select.select([self._fd], [], [], 0)[0]
                except (OSError, ValueError):
                    readable = []
                if not readable:
                    return len(self._buf)
            time.sleep(0.002)
        with self._lock:
            return len(self._buf)

    def finish(self, timeout: float = 2.0) -> None:
        self._done.wait(timeout)
        with contextlib.suppress(OSError):
            self._stream.close()

    def text(self, start: int = 0, end: int | None = None) -> str:
        with self._lock:
            return bytes(self._buf[start:end]).decode("utf-8", "replace")
