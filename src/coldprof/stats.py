"""Every statistic coldprof uses: centre, spread, quantiles, ranks, intervals, rank tests, fits."""

from __future__ import annotations

import functools
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


def median_standard_error(xs: Iterable[float]) -> float:
    """The standard error of the median, estimated from the MAD (normal noise assumed):
    about 1.2533 σ/√n, with σ about 1.4826 × MAD, so one slow run does not inflate it."""
    values = _values(xs, "median_standard_error")
    return 1.2533 * 1.4826 * mad(values) / math.sqrt(len(values))


def nearest_rank(xs: Iterable[float], q: float) -> float:
    """The q-quantile, q in 0..1, as the sample value at the nearest rank (no interpolation):
    the sorted value at round(q × (n − 1))."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be between 0 and 1, not {q}")
    ordered = sorted(_values(xs, "nearest_rank"))
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


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


# -- intervals ---------------------------------------------------------------------------------
CONFIDENCE = 0.95


def _binomial_cdf_half(k: int, n: int) -> float:
    """P(X ≤ k) for X ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    return float(math.fsum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2**n)


def median_ci_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """1-based ranks (low, high) of the order statistics that bound the median's interval.

    The distribution-free interval: the sample's k-th smallest and k-th largest values cover the
    population median with probability 1 − 2·P(Binomial(n, ½) < k), whatever the distribution.
    k is the largest rank that keeps that coverage at ``confidence`` or more. Below 6 values no
    rank can (min and max cover only 1 − 2^(1−n): 94 % at 5): the interval is then min to max.
    """
    if n < 1:
        raise ValueError("an interval needs at least one value")
    alpha = 1 - confidence
    k = 1
    while k + 1 <= (n + 1) // 2 and 2 * _binomial_cdf_half(k, n) <= alpha:
        k += 1
    return k, n + 1 - k


def median_ci_coverage(n: int, confidence: float = CONFIDENCE) -> float:
    """The coverage median_ci really has for n values (at least ``confidence`` from 6 on)."""
    k, _ = median_ci_ranks(n, confidence)
    return 1 - 2 * _binomial_cdf_half(k - 1, n)


def median_ci(xs: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A distribution-free interval for the median: two order statistics of the sample.

    It always contains the sample median. See median_ci_ranks for its ranks and coverage.
    """
    ordered = sorted(_values(xs, "median_ci"))
    low, high = median_ci_ranks(len(ordered), confidence)
    return ordered[low - 1], ordered[high - 1]


def relative_half_width(xs: Sequence[float], confidence: float = CONFIDENCE) -> float | None:
    """How far the median's interval reaches from the median, as a fraction of it (0.05: ±5 %).

    The larger of the two sides, since order statistics need not sit symmetrically. None when
    the median is 0, where no relative precision is defined.
    """
    centre = median(xs)
    if centre == 0:
        return None
    low, high = median_ci(xs, confidence)
    return max(centre - low, high - centre) / abs(centre)


def paired_differences(before: Sequence[float], after: Sequence[float]) -> list[float]:
    """after − before, pair by pair (each pair measured in the same minute)."""
    _same_length(before, after, "paired_differences")
    return [b - a for a, b in zip(before, after, strict=True)]


def rank_sum_counts(k: int, n: int) -> tuple[int, ...]:
    """How many k-subsets of the ranks 1..n have each rank sum (index = sum): the exact null
    distribution of the Wilcoxon rank-sum (Mann-Whitney) statistic."""
    return _rank_sum_counts(k, n)


def rank_test_p(lower: Sequence[float], higher: Sequence[float]) -> float:
    """One-sided Mann-Whitney p-value that ``higher`` tends to exceed ``lower``.

    Exact (ties at their mid-rank) for up to 40 samples together, else the normal approximation.
    With few runs the smallest possible p is large (1/20 for 3 against 3): see smallest_p.
    """
    n_low, n_high = len(lower), len(higher)
    n = n_low + n_high
    rank_sum = sum(ranks([*lower, *higher])[n_low:])
    if n <= 40:
        counts = _rank_sum_counts(n_high, n)
        at_least = sum(counts[math.ceil(rank_sum - 1e-9) :])
        return at_least / sum(counts)
    mean = n_high * (n + 1) / 2
    sd = math.sqrt(n_low * n_high * (n + 1) / 12)
    z = (rank_sum - 0.5 - mean) / sd if sd else 0.0
    return 0.5 * math.erfc(z / math.sqrt(2))


def smallest_p(n_low: int, n_high: int) -> float:
    """The smallest p-value rank_test_p can give for samples of these sizes."""
    return 1 / math.comb(n_low + n_high, n_high)


@functools.lru_cache(maxsize=64)
def _rank_sum_counts(k: int, n: int) -> tuple[int, ...]:
    top = n * (n + 1) // 2
    counts = [[0] * (top + 1) for _ in range(k + 1)]
    counts[0][0] = 1
    for rank in range(1, n + 1):
        for chosen in range(min(k, rank), 0, -1):
            row, below = counts[chosen], counts[chosen - 1]
            for total in range(top, rank - 1, -1):
                row[total] += below[total - rank]
    return tuple(counts[k])


def shift_estimate(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The Hodges-Lehmann shift of ys over xs: the median of all differences y − x."""
    return median(y - x for x in _values(xs, "shift_estimate") for y in _values(ys, "shift"))


def shift_ci(
    xs: Sequence[float], ys: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """A distribution-free interval for how much ys exceed xs (the Moses interval).

    Order statistics of the n·m differences y − x, at ranks taken from the exact Mann-Whitney
    distribution, so it holds for any shape of noise the two samples share. Where so few runs
    cannot reach ``confidence`` it is the full range of the differences. It contains
    shift_estimate.
    """
    x_values, y_values = _values(xs, "shift_ci"), _values(ys, "shift_ci")
    n, m = len(x_values), len(y_values)
    differences = sorted(y - x for x in x_values for y in y_values)
    # U = W − m(m+1)/2 over the rank sums W of the y sample; counts are symmetric around nm/2.
    counts = _rank_sum_counts(m, n + m)[m * (m + 1) // 2 :]
    total = math.fsum(counts)
    alpha = 1 - confidence
    c, below = 0, 0.0
    while c + 1 <= len(differences) // 2 and 2 * (below + counts[c]) / total <= alpha:
        below += counts[c]
        c += 1
    # [D(c), D(nm+1−c)] covers the shift with probability 1 − 2·P(U ≤ c − 1).
    cut = max(c - 1, 0)
    return differences[cut], differences[len(differences) - 1 - cut]

