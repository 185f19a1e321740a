"""Tests for coldprof.stats against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from coldprof.stats import (
    coefficient_of_variation,
    least_squares,
    mad,
    median,
    median_standard_error,
    nearest_rank,
    percentile,
    rank_test_p,
    smallest_p,
    spearman,
    stdev,
)


def test_median_odd_and_even() -> None:
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5
    assert median(x for x in (7.5,)) == 7.5  # any iterable, consumed once


@pytest.mark.parametrize(
    ("xs", "p", "expected"),
    [
        ([10, 20, 30, 40], 90, 37.0),  # rank 2.7: 30 + 0.7 × 10
        ([10, 20, 30, 40], 50, 25.0),
        ([10, 20, 30, 40], 0, 10.0),
        ([10, 20, 30, 40], 100, 40.0),
        ([40, 10, 30, 20], 25, 17.5),  # unsorted input; rank 0.75
        ([15, 20, 35, 40, 50], 40, 29.0),  # rank 1.6: 20 + 0.6 × 15
        ([42.0], 99, 42.0),
    ],
)
def test_percentile_interpolates_linearly(xs: list[float], p: float, expected: float) -> None:
    assert percentile(xs, p) == pytest.approx(expected)


def test_p50_is_the_median() -> None:
    xs = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    assert percentile(xs, 50) == median(xs)


@pytest.mark.parametrize("p", [-0.1, 100.5, float("nan")])
def test_percentile_rejects_p_outside_0_to_100(p: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0, 2.0], p)


def test_stdev_is_the_sample_stdev() -> None:
    # mean 5, squared deviations sum to 32, sample variance 32 / 7
    assert stdev([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(math.sqrt(32 / 7))


def test_coefficient_of_variation() -> None:
    assert coefficient_of_variation([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(
        math.sqrt(32 / 7) / 5
    )
    assert coefficient_of_variation([100.0, 100.0, 100.0]) == 0.0


def test_coefficient_of_variation_needs_a_nonzero_mean() -> None:
    with pytest.raises(ValueError, match="mean is 0"):
        coefficient_of_variation([-1.0, 1.0])


def test_mad_is_unscaled() -> None:
    # median 2; absolute deviations 1, 1, 0, 0, 2, 4, 7; their median 1
    assert mad([1, 1, 2, 2, 4, 6, 9]) == 1
    assert mad([5.0]) == 0.0


def test_mad_shrugs_off_an_outlier_that_stdev_does_not() -> None:
    steady = [100.0, 101.0, 99.0, 100.0, 102.0]
    with_outlier = [*steady[:-1], 1000.0]
    assert mad(with_outlier) == mad(steady)
    assert stdev(with_outlier) > 10 * stdev(steady)


@pytest.mark.parametrize(
    "function", [median, stdev, mad, coefficient_of_variation, lambda xs: percentile(xs, 90)]
)
def test_empty_sample_is_a_clear_error(function: object) -> None:
    with pytest.raises(ValueError, match="empty"):
        function([])  # type: ignore[operator]


@pytest.mark.parametrize("function", [stdev, coefficient_of_variation])
def test_spread_needs_two_values(function: object) -> None:
    with pytest.raises(ValueError, match="at least two"):
        function([3.0])  # type: ignore[operator]


def test_nan_is_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        median([1.0, float("nan"), 3.0])
    with pytest.raises(ValueError, match="finite"):
        spearman([1.0, 2.0, float("inf")], [1.0, 2.0, 3.0])


def test_spearman_of_a_monotone_pair_is_one() -> None:
    xs = [1, 2, 3, 4, 5]
    assert spearman(xs, [1, 4, 9, 16, 25]) == 1.0  # monotone but not linear
    assert spearman(xs, [25, 16, 9, 4, 1]) == -1.0


def test_spearman_gives_ties_their_average_rank() -> None:
    # x ranks 1, 2.5, 2.5, 4 against y ranks 1..4: Pearson = 4.5 / sqrt(4.5 × 5) = 3 / sqrt(10)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10))


def test_spearman_with_ties_is_not_the_textbook_shortcut() -> None:
    # y ranks 3, 1.5, 4, 1.5, 5: Pearson on ranks = 4 / sqrt(10 × 9.5) = 0.41039...
    # The 1 − 6Σd²/(n(n²−1)) shortcut would give 0.425 here.
    assert spearman([10, 20, 30, 40, 50], [3, 1, 4, 1, 5]) == pytest.approx(4 / math.sqrt(95))


def test_spearman_is_none_when_undefined() -> None:
    assert spearman([1, 2], [2, 1]) is None  # too few pairs
    assert spearman([], []) is None
    assert spearman([1, 2, 3], [5, 5, 5]) is None  # a constant side
    assert spearman([4, 4, 4], [1, 2, 3]) is None


def test_spearman_needs_paired_samples() -> None:
    with pytest.raises(ValueError, match="paired"):
        spearman([1, 2, 3], [1, 2])


def test_least_squares_exact_line() -> None:
    assert least_squares([1, 2, 3], [2, 4, 6]) == pytest.approx((2.0, 0.0))


def test_least_squares_noisy_points() -> None:
    # mean x 1.5, mean y 2.75; Sxy 5.5, Sxx 5 → slope 1.1, intercept 2.75 − 1.65
    slope, intercept = least_squares([0, 1, 2, 3], [1, 3, 2, 5]) or (math.nan, math.nan)
    assert slope == pytest.approx(1.1)
    assert intercept == pytest.approx(1.1)


def test_least_squares_is_none_when_no_line_is_determined() -> None:
    assert least_squares([1], [1]) is None
    assert least_squares([], []) is None
    assert least_squares([2, 2, 2], [1, 2, 3]) is None


def test_least_squares_needs_paired_samples() -> None:
    with pytest.raises(ValueError, match="paired"):
        least_squares([1, 2, 3], [1, 2])


# -- intervals ------------------------------------------------------------------------------------
def test_median_interval_ranks_match_the_binomial_tables() -> None:
    from coldprof.stats import median_ci_coverage, median_ci_ranks

    # Below 6 values no pair of order statistics reaches 95 %: min to max.
    assert median_ci_ranks(5) == (1, 5) and median_ci_coverage(5) == pytest.approx(0.9375)
    assert median_ci_ranks(6) == (1, 6)
    # The textbook ranks (e.g. Conover's table): n=10 → 2nd and 9th, n=20 → 6th and 15th.
    assert median_ci_ranks(10) == (2, 9) and median_ci_coverage(10) == pytest.approx(0.9785, 1e-3)
    assert median_ci_ranks(20) == (6, 15)
    for n in range(6, 60):
        assert median_ci_coverage(n) >= 0.95


def test_median_interval_always_brackets_the_median() -> None:
    import random

    from coldprof.results.analyze import SampleStats
    from coldprof.stats import median_ci

    rng = random.Random(7)
    for n in range(1, 41):
        samples = [rng.lognormvariate(5, 0.4) for _ in range(n)]
        stats_ = SampleStats.of(samples)
        assert stats_.ci95 is not None
        low, high = stats_.ci95
        assert stats_.min <= low <= stats_.median <= high <= stats_.max
        raw_low, raw_high = median_ci(samples)
        assert (round(raw_low, 3), round(raw_high, 3)) == (low, high)
    assert SampleStats.of([]).ci95 is None


def test_median_interval_covers_the_true_median_about_95_percent_of_the_time() -> None:
    import math
    import random

    from coldprof.stats import median_ci

    rng = random.Random(11)
    true_median = math.log(2)  # of an exponential with rate 1: skewed, like cold starts
    hits = 0
    for _ in range(2000):
        low, high = median_ci([rng.expovariate(1) for _ in range(10)])
        hits += low <= true_median <= high
    assert 0.96 <= hits / 2000 <= 0.995  # 97.9 % nominal at n = 10


def test_shift_interval_is_distribution_free_and_brackets_its_estimate() -> None:
    import random

    from coldprof.stats import shift_ci, shift_estimate

    rng = random.Random(3)
    hits = 0
    for _ in range(1000):
        xs = [rng.expovariate(1) for _ in range(10)]
        ys = [rng.expovariate(1) + 2 for _ in range(3)]
        low, high = shift_ci(xs, ys)
        assert low <= shift_estimate(xs, ys) <= high
        hits += low <= 2 <= high
    assert 0.93 <= hits / 1000 <= 0.99
    # Two runs against two cannot reach 95 %: the full range of the differences.
    assert shift_ci([1.0, 2.0], [10.0, 12.0]) == (8.0, 11.0)


def test_paired_differences_need_pairs() -> None:
    from coldprof.stats import paired_differences

    assert paired_differences([1.0, 2.0], [3.0, 2.5]) == [2.0, 0.5]
    with pytest.raises(ValueError, match="paired"):
        paired_differences([1.0], [1.0, 2.0])


def test_median_standard_error_from_the_mad() -> None:
    # MAD of 1..5 is 1: 1.2533 × 1.4826 × 1 / √5.
    assert median_standard_error([1, 2, 3, 4, 5]) == pytest.approx(1.2533 * 1.4826 / math.sqrt(5))
    assert median_standard_error([4.0, 4.0, 4.0]) == 0.0
    # One slow run barely moves it: the MAD ignores how far out the outlier is.
    assert median_standard_error([1, 2, 3, 4, 500]) == median_standard_error([1, 2, 3, 4, 5])


def test_nearest_rank_takes_a_sample_value_without_interpolating() -> None:
    errors = [0.05, 0.01, 0.03, 0.02, 0.04]  # sorted: .01 .02 .03 .04 .05
    assert nearest_rank(errors, 0.8) == 0.04  # rank round(0.8 × 4) = 3 (0-based)
    assert nearest_rank(errors, 0.0) == 0.01
    assert nearest_rank(errors, 1.0) == 0.05
    assert nearest_rank([0.1, 0.2], 0.8) == 0.2  # round(0.8) = 1
    with pytest.raises(ValueError, match="between 0 and 1"):
        nearest_rank(errors, 80)


def test_rank_test_p_is_exact_for_few_runs_and_normal_beyond() -> None:
    assert rank_test_p([1, 2, 3], [4, 5, 6]) == pytest.approx(1 / 20)  # complete separation
    assert rank_test_p([4, 5, 6], [1, 2, 3]) == pytest.approx(1.0)
    assert rank_test_p(list(range(10)), list(range(10, 20))) == pytest.approx(1 / 184756)
    assert rank_test_p([1.0] * 4, [1.0] * 4) == pytest.approx(0.5, abs=0.15)
    assert 0 < rank_test_p(list(range(30)), list(range(15, 45))) < 1e-3  # normal approximation


def test_smallest_p_is_the_complete_separation() -> None:
    assert smallest_p(3, 3) == pytest.approx(1 / 20)
    assert smallest_p(3, 3) == pytest.approx(rank_test_p([1, 2, 3], [4, 5, 6]))
    assert smallest_p(10, 10) == pytest.approx(1 / 184756)
