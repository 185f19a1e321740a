"""The measuring loop: counted cold starts of one spec, run again when they only warmed caches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from coldprof.measure.coldstart import ColdStart, cold_start
from coldprof.results.analyze import InitFailure
from coldprof.runner import lambda_fs
from coldprof.runner.spec import EnvironmentSpec

# A cold start that read more than this from storage, not the page cache, was warming the cache
# and is run again. Measured here on heavy_deps: the first cold start after dropping the caches
# read 49 MB and took 30-60 % longer; every later one read 0 bytes, and in a warm cache the first
# cold start is no slower than the rest (first ÷ median of the others: 0.98 over 8 analyses).
COLD_CACHE_BYTES = 256 * 1024
MAX_CACHE_WARMUPS = 3  # a page cache too small to hold the package stays cold; say so, go on

T = TypeVar("T")


def warms_cache(start: ColdStart, kept: int, discarded: int, warmup: int) -> bool:
    """Whether a cold start only warmed caches and should be run again."""
    if start.disk_read_bytes is None:
        return kept == 0 and discarded < warmup
    return start.disk_read_bytes > COLD_CACHE_BYTES and discarded < MAX_CACHE_WARMUPS


def discard_reason(discarded: Sequence[ColdStart], kept: Sequence[ColdStart]) -> str | None:
    """Why runs were discarded, for the result; None when none was."""
    if not discarded:
        return None
    read = [s.disk_read_bytes for s in discarded if s.disk_read_bytes is not None]
    if not read:
        return "a warm-up: whether a cold start read from disk cannot be seen here"
    reason = f"read up to {max(read) / 2**20:.1f} MiB from disk rather than the page cache"
    still = sum(1 for s in kept if (s.disk_read_bytes or 0) > COLD_CACHE_BYTES)
    if still:
        reason += (
            f"; {still} counted cold starts read from disk too, so their times include it "
            "(is the page cache too small to hold the package?)"
        )
    return reason


def alternate(first: T, second: T, index: int) -> tuple[T, T]:
    """The order of the ``index``-th pair of two interleaved series: AB, BA, AB...

    Neither side always follows the other, so drift on a busy machine hits both alike."""
    return (first, second) if index % 2 == 0 else (second, first)


class Series:
    """The counted cold starts of one spec, and those discarded for only warming caches.

    Where the kernel cannot say whether a cold start read from disk, the first ``warmup`` are
    discarded; elsewhere only those that did read from disk are (see COLD_CACHE_BYTES). With
    ``evict``, the package and layers leave the page cache before each cold start: every run
    reads from disk, which is then what is measured, and none is discarded.
    """

    def __init__(
        self,
        spec: EnvironmentSpec,
        warmup: int,
        evict: bool = False,
        event: bytes | None = None,
        after_each: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.warmup = warmup
        self.evict = evict
        # Invoked right after each init, until the handler fails on it.
        self.event = event
        self.event_error: str | None = None
        self.after_each = after_each  # run after every cold start, counted or not
        self.kept: list[ColdStart] = []
        self.discarded: list[ColdStart] = []

    def measure_one(self) -> tuple[ColdStart, InitFailure | None]:
        """One counted cold start; or the first that failed at init, with how (not counted)."""
        while True:
            if self.evict:
                lambda_fs.evict([self.spec.task_root, *self.spec.layers])
            start, failure = cold_start(self.spec, self.event)
            if self.after_each is not None:
                self.after_each()
            if failure is not None:
                return start, failure
            if start.events is not None and start.events.error is not None:
                self.event_error = start.events.error
                self.event = None  # the handler fails on it: once is enough (may time out)
            if not self.evict and warms_cache(
                start, len(self.kept), len(self.discarded), self.warmup
            ):
                self.discarded.append(start)
                continue
            self.kept.append(start)
            return start, None
