"""Small pure statistics over samples of timings: centre, spread, rank correlation, a line fit."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def median(xs: Iterable[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    return statistics.median(_values(xs, "median"))


def percentile(xs: Iterable[float], p: float) -> float:
    """The p-th percentile, p in 0..100, interpolating linearly between closest ranks.

    This is the "linear" method of numpy and of Excel's PERCENTILE.INC: the value at rank
    p/100 × (n − 1) of the sorted sample, so percentile(xs, 50) == median(xs).
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {p}")
    ordered = sorted(_values(xs, "percentile"))
    rank = p / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def stdev(xs: Iterable[float]) -> float:
    """The sample standard deviation (n − 1 in the denominator); needs two values or more."""
    values = _values(xs, "stdev")
    if len(values) < 2:
        # One sample shows no spread, which is not the same as zero spread.
        raise ValueError("stdev needs at least two values")
    return statistics.stdev(values)


def coefficient_of_variation(xs: Iterable[float]) -> float:
    """Sample stdev divided by |mean|, as a fraction (0.05 is 5 %); needs two values or more."""
    values = _values(xs, "coefficient_of_variation")
    if len(values) < 2:
        raise ValueError("coefficient_of_variation needs at least two values")
    mean = math.fsum(values) / len(values)
    if mean == 0:
        raise ValueError("coefficient_of_variation is undefined when the mean is 0")
    return stdev(values) / abs(mean)


def mad(xs: Iterable[float]) -> float:
    """The median absolute deviation from the median, unscaled (no 1.4826 factor)."""
    values = _values(xs, "mad")
    centre = statistics.median(values)
    return statistics.median([abs(x - centre) for x in values])


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation, ties given their average rank.

    None when there are fewer than 3 pairs or either side is constant, where no rank
    correlation can be told apart from chance or is defined at all.
    """
    _same_length(xs, ys, "spearman")
    if len(xs) < 3:
        return None
    _check_finite(xs, "spearman")
    _check_finite(ys, "spearman")
    # Pearson on the ranks rather than the 1 − 6Σd²/(n(n²−1)) shortcut, which is wrong with ties.
    return _pearson(ranks(xs), ranks(ys))


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Ordinary least squares fit y = slope × x + intercept, as (slope, intercept).

    None when there are fewer than 2 points or all x are equal, where no line is determined.
    """
    _same_length(xs, ys, "least_squares")
    if len(xs) < 2:
        return None
    _check_finite(xs, "least_squares")
    _check_finite(ys, "least_squares")
    n = len(xs)
    mean_x = math.fsum(xs) / n
    mean_y = math.fsum(ys) / n
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def _values(xs: Iterable[float], what: str) -> list[float]:
    values = [float(x) for x in xs]
    if not values:
        raise ValueError(f"{what} of an empty sample")
    _check_finite(values, what)
    return values


def _check_finite(xs: Iterable[float], what: str) -> None:
    # NaN sorts arbitrarily and poisons every sum: better a clear error than a quiet nonsense.
    if not all(math.isfinite(x) for x in xs):
        raise ValueError(f"{what} needs finite numbers; the sample holds NaN or infinity")


def _same_length(xs: Sequence[float], ys: Sequence[float], what: str) -> None:
    if len(xs) != len(ys):
        raise ValueError(f"{what} needs paired samples; got {len(xs)} x and {len(ys)} y values")


def ranks(xs: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the average of the ranks they span."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and xs[order[end + 1]] == xs[order[start]]:
            end += 1
        average = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = average
        start = end + 1
    return ranks


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    mean_x = math.fsum(xs) / n
    mean_y = math.fsum(ys) / n
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    syy = math.fsum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    # Rounding can carry a perfect correlation a hair past ±1.
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
