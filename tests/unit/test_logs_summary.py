"""`coldprof logs`' pure summary: figures worked out by hand, versions from stream names."""

from __future__ import annotations

import math

from coldprof.aws.report import InitReport, InvokeReport
from coldprof.logs.summary import Record, summarize, version_of_stream


def test_cost_figures_match_hand_computed_values() -> None:
    def record(init: float | None, memory: int, duration: float = 10.0) -> Record:
        report = InvokeReport("r", duration, 11, memory, 50, init_ms=init)
        return Record("$LATEST", report=report)

    failed = Record("$LATEST", init_report=InitReport(499.2, "init", "timeout"))
    records = [record(100.2, 1024), record(200.0, 2048), record(None, 1024), failed]
    stats = summarize(records, "arm64", window_days=2.0)
    # Init billed in whole ms: 101 ms at 1 GB, 200 ms at 2 GB, and the failed init's 500 ms at
    # the largest memory seen (2 GB).
    assert math.isclose(stats.init_billed_gb_seconds, 0.101 * 1 + 0.200 * 2 + 0.500 * 2)
    # arm64: $0.0000133334 per GB-second; two days scaled to thirty.
    assert math.isclose(stats.init_usd_per_month, 1.501 * 0.0000133334 * 15, rel_tol=1e-5)
    assert stats.invocations == 3 and stats.cold_starts == 2
    assert stats.failed_inits == {"timeout": 1}
    assert stats.warm_duration_p50_ms == 10.0


def test_version_comes_from_the_stream_name() -> None:
    assert version_of_stream("2026/11/29/[$LATEST]0123abcd") == "$LATEST"
    assert version_of_stream("2026/11/29/[12]0123abcd") == "12"
    assert version_of_stream("custom-stream") == "?"
