"""Tests for coldprof.measure.series's pure parts: which cold starts count, and why not."""

from __future__ import annotations

from coldprof.measure import importtime
from coldprof.measure.coldstart import ColdStart
from coldprof.measure.series import (
    COLD_CACHE_BYTES,
    MAX_CACHE_WARMUPS,
    alternate,
    discard_reason,
    warms_cache,
)

EMPTY = importtime.parse("")


def start(read: int | None) -> ColdStart:
    return ColdStart(100.0, EMPTY, read)


def test_a_run_that_read_from_disk_goes_again_up_to_a_limit() -> None:
    assert warms_cache(start(COLD_CACHE_BYTES + 1), kept=0, discarded=0, warmup=1)
    assert not warms_cache(start(COLD_CACHE_BYTES), kept=0, discarded=0, warmup=1)
    # A page cache too small to hold the package stays cold: after a few, the runs count.
    assert not warms_cache(start(10 * COLD_CACHE_BYTES), 0, MAX_CACHE_WARMUPS, warmup=1)


def test_where_reads_cannot_be_seen_the_first_runs_are_blind_warmups() -> None:
    assert warms_cache(start(None), kept=0, discarded=0, warmup=1)
    assert not warms_cache(start(None), kept=0, discarded=1, warmup=1)
    assert not warms_cache(start(None), kept=1, discarded=0, warmup=1)
    assert not warms_cache(start(None), kept=0, discarded=0, warmup=0)


def test_the_reason_names_the_reads_and_counted_runs_that_read_too() -> None:
    assert discard_reason([], [start(0)]) is None
    assert discard_reason([start(None)], [start(None)]) == (
        "a warm-up: whether a cold start read from disk cannot be seen here"
    )
    reason = discard_reason([start(3 * 2**20)], [start(0), start(2**20)])
    assert reason is not None
    assert reason.startswith("read up to 3.0 MiB from disk rather than the page cache; 1 counted")


def test_pairs_alternate_which_side_goes_first() -> None:
    assert [alternate("a", "b", i) for i in range(4)] == [
        ("a", "b"),
        ("b", "a"),
        ("a", "b"),
        ("b", "a"),
    ]
