"""Progress reporting through an injected object, so core code never prints."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, description: str, total: int | None = None) -> None: ...

    def advance(self, step: int = 1) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """The default: says nothing (non-TTY output, JSON on stdout, library use)."""

    def start(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, step: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
