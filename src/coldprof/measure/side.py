"""One side of a measurement: a prepared function's counted cold starts, in its filesystem."""

from __future__ import annotations

import contextlib

from coldprof.build.layers import missing_layer_hint
from coldprof.errors import FunctionInitError
from coldprof.estimate import speedref
from coldprof.measure.coldstart import ColdStart
from coldprof.measure.filesystem import measured_filesystem
from coldprof.measure.prepare import Prepared
from coldprof.measure.result import result_of
from coldprof.measure.series import Series
from coldprof.runner.spec import EnvironmentSpec


class Side:
    """The cold starts of one prepared function, kept or discarded as they come.

    They run in the function's filesystem (Lambda's, or read-only copies of its folders),
    which stays open across interleaved ``measure_one`` calls (audit --base measures two
    sides in turn) until ``close()``: use a Side as a context manager.
    """

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.request = prepared.request
        # The speed reference runs between cold starts, so it sees the same machine load they do.
        self.references: list[float | None] = []
        self._filesystem = contextlib.ExitStack()
        self._series: Series | None = None

    def __enter__(self) -> Side:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def series(self) -> Series:
        """The loop over the measured spec, its filesystem set up on first use."""
        if self._series is None:
            prepared = self.prepared
            measured = self._filesystem.enter_context(
                measured_filesystem(prepared.spec, prepared.run_info.filesystem)
            )
            self._series = Series(
                measured,
                warmup=self.request.warmup,
                evict=self.request.page_cache == "cold",
                # The first --event runs right after each timed init, until the handler fails.
                event=prepared.payloads[0] if prepared.payloads else None,
                after_each=self._measure_speed,
            )
        return self._series

    @property
    def measured(self) -> EnvironmentSpec:
        """The spec the cold starts run with, its filesystem set up on first use."""
        return self.series.spec

    @property
    def starts(self) -> list[ColdStart]:
        """The counted cold starts so far."""
        return self._series.kept if self._series is not None else []

    @property
    def discarded(self) -> list[ColdStart]:
        """The cold starts run again for only warming the page cache."""
        return self._series.discarded if self._series is not None else []

    @property
    def event_error(self) -> str | None:
        """How the handler failed on the first --event, if it did."""
        return self._series.event_error if self._series is not None else None

    def close(self) -> None:
        """Remove the copies the cold starts ran on (nothing to remove in Lambda's mode)."""
        self._filesystem.close()

    def _measure_speed(self) -> None:
        python = self.prepared.spec.python
        self.references.extend(speedref.measure(python) for _ in range(speedref.PER_COLD_START))

    def measure_one(self) -> ColdStart:
        """One counted cold start; runs that only warmed the page cache are run again."""
        start, failure = self.series.measure_one()
        if failure is not None:
            partial = result_of(self.prepared, [start], None, failure)
            declared = self.prepared.source.spec
            raise FunctionInitError(
                f"the function failed at init: {failure.message}",
                function_output=failure.output,
                partial=self.prepared.run_info.apply(partial, [start]),
                hint=missing_layer_hint(declared, f"{failure.message}\n{failure.output}"),
            )
        return start
