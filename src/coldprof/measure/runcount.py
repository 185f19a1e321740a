"""When to stop measuring: --runs N, or --runs auto until the median is known precisely enough."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from coldprof import stats
from coldprof.measure.request import AnalyzeRequest

# --runs auto: the precision aimed at (±5 % of the median), and the fewest runs whose order
# statistics can give a 95 % interval at all (5 runs cover only 94 %).
AUTO_PRECISION = 0.05
AUTO_MIN_RUNS = 6


def stop_reason(
    n: int, reach: float | None, limit_hit: bool, what: str, of: str = "", unit: str = "runs"
) -> str:
    """Say what ended --runs auto after ``n`` runs, with the precision ``reach`` reached."""
    shown = "?" if reach is None else f"±{reach * 100:.1f} %"
    if limit_hit:
        return (
            f"--max-runs {n} reached with the {what}'s 95 % interval at {shown}{of} "
            f"(the goal: ±{AUTO_PRECISION * 100:.0f} %)"
        )
    return f"the {what}'s 95 % interval reached {shown}{of} after {n} {unit}"


def done_after(
    n: int,
    reach: Callable[[], float | None],
    request: AnalyzeRequest,
    what: str = "init median",
    of: str = "",
    unit: str = "runs",
) -> tuple[bool, str | None]:
    """Whether ``n`` runs are enough, and (under --runs auto) why; ``reach`` says how far the
    95 % interval of ``what`` reaches, as a fraction of the figure it is relative to."""
    if not request.auto_runs:
        return n >= request.runs, None
    if n >= request.max_runs:
        return True, stop_reason(n, reach(), True, what, of, unit)
    if n >= max(request.runs, AUTO_MIN_RUNS):
        reached = reach()
        if reached is not None and reached <= AUTO_PRECISION:
            return True, stop_reason(n, reached, False, what, of, unit)
    return False, None


def run_count_done(samples: Sequence[float], request: AnalyzeRequest) -> tuple[bool, str | None]:
    """Whether to stop measuring init, and (under --runs auto) why."""
    return done_after(len(samples), lambda: stats.relative_half_width(samples), request)
