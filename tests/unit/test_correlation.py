"""Pure parts of `coldprof remote`: correlation, recommendation, billing, records."""

from __future__ import annotations

import json
import math

import pytest

from coldprof.remote.correlation import (
    PACKAGE_UNIT_BYTES,
    correlate,
    init_charge_ms,
    recommend_tier,
    relation,
)
from coldprof.render import OutputFormat, render, supported
from coldprof.results.remote import FunctionResult, RemoteResult, Sample, TierResult


def tier(memory: int, init: float | None, penalty: float | None, warm_cost: float) -> TierResult:
    cold = (Sample("r", 10.0, 11.0, 60, init_ms=init),) if init is not None else ()
    return TierResult(
        memory_mb=memory,
        cold=cold,
        init_median_ms=init,
        init_p90_ms=init,
        cold_penalty_ms=penalty,
        cost_cold_usd_per_million=warm_cost * 3,
        cost_warm_usd_per_million=warm_cost,
    )


def function(name: str, unzipped: int | None, tiers: list[TierResult]) -> FunctionResult:
    recommended, reason = recommend_tier(tiers)
    return FunctionResult(
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        name=name,
        runtime="python3.12",
        architecture="x86_64",
        package_type="Zip",
        code_size_bytes=1000,
        original_memory_mb=128,
        restored=True,
        tiers=tuple(tiers),
        package_unzipped_bytes=unzipped,
        recommended_memory_mb=recommended,
        recommendation=reason,
    )


# -- relation ------------------------------------------------------------------------------------
def test_memory_slope_is_ms_per_doubling_within_each_function() -> None:
    # Two functions, each losing exactly 30 ms per doubling, with very different baselines.
    points = [
        (fn, math.log2(memory), base - 30 * math.log2(memory / 128))
        for fn, base in (("a", 900.0), ("b", 100.0))
        for memory in (128, 256, 512, 1024, 2048)
    ]
    result = relation(points, "memory", "init_ms", "ms per doubling of memory", "function")
    assert result.slope == pytest.approx(-30.0)
    assert result.spearman == pytest.approx(-1.0)
    assert result.n == 10 and result.groups == 2
    assert result.caveat is None


def test_pooling_without_groups_would_be_confounded() -> None:
    # Function b is measured only at high memory and is far slower: raw pooling would make
    # memory look costly, while within each function init falls with memory.
    points = [
        ("a", math.log2(128), 200.0),
        ("a", math.log2(256), 190.0),
        ("a", math.log2(512), 180.0),
        ("b", math.log2(1024), 900.0),
        ("b", math.log2(2048), 890.0),
        ("b", math.log2(4096), 880.0),
    ]
    result = relation(points, "memory", "init_ms", "ms per doubling of memory", "function")
    assert result.slope is not None and result.slope < 0
    assert result.spearman is not None and result.spearman < 0


def test_package_slope_is_ms_per_100_mb_within_each_tier() -> None:
    sizes = {"small": 0.1, "mid": 0.6, "big": 1.1}  # in units of 100 MB
    points = [
        (str(memory), x, 80.0 + 50.0 * x + memory / 100)
        for memory in (128, 1024)
        for x in sizes.values()
    ]
    result = relation(points, "size", "init_ms", "ms per 100 MB of package", "memory tier")
    assert result.slope == pytest.approx(50.0)
    assert result.spearman == pytest.approx(1.0)
    assert result.caveat is not None and "only 3 distinct package sizes" in result.caveat


def test_small_samples_carry_a_caveat_and_degenerate_ones_no_figure() -> None:
    two_tiers = [("a", 7.0, 100.0), ("a", 8.0, 90.0)]
    result = relation(two_tiers, "m", "i", "u", "function")
    assert result.spearman is None  # fewer than 3 points
    assert result.slope == pytest.approx(-10.0)
    assert result.caveat is not None and "2 distinct memory sizes" in result.caveat

    one_function = [("128", 0.5, 100.0)]
    result = relation(one_function, "s", "i", "u", "memory tier")
    assert result.slope is None and result.spearman is None and result.n == 0
    assert result.caveat is not None and "two or more functions" in result.caveat


def test_correlate_uses_unzipped_sizes_for_deploys_and_code_size_otherwise() -> None:
    big = 3 * PACKAGE_UNIT_BYTES
    deployed = [
        function(
            "small", PACKAGE_UNIT_BYTES // 10, [tier(128, 100, 300, 1), tier(512, 90, 150, 2)]
        ),
        function("big", big, [tier(128, 700, 1500, 1), tier(512, 600, 900, 2)]),
        function("mid", big // 2, [tier(128, 400, 800, 1), tier(512, 350, 500, 2)]),
    ]
    result = correlate(deployed)
    assert result.package_size_measure == "unzipped"
    assert result.init_vs_package_size.slope is not None
    assert result.init_vs_package_size.slope > 0
    assert result.init_vs_package_size.spearman == pytest.approx(1.0)
    assert result.init_vs_memory.slope is not None and result.init_vs_memory.slope < 0
    assert result.cold_penalty_vs_memory.slope is not None
    assert result.cold_penalty_vs_memory.slope < 0

    mixed = [*deployed[:2], function("arn-only", None, [tier(128, 50, 60, 1)])]
    assert correlate(mixed).package_size_measure == "code_size"


# -- recommendation ------------------------------------------------------------------------------
def test_recommends_the_cheapest_tier_within_ten_percent_of_the_best_penalty() -> None:
    tiers = [
        tier(128, 400, 1500.0, 0.40),
        tier(512, 300, 420.0, 0.90),  # within 10 % of 400: the cheapest such tier
        tier(1024, 290, 400.0, 1.70),  # the best penalty
        tier(1769, 290, 405.0, 2.90),
    ]
    memory, reason = recommend_tier(tiers)
    assert memory == 512
    assert reason is not None and "1024 MB" in reason and "10%" in reason


def test_no_recommendation_without_a_penalty() -> None:
    assert recommend_tier([tier(128, None, None, 1.0)]) == (None, None)


def test_best_tier_is_recommended_when_nothing_else_is_close() -> None:
    memory, _ = recommend_tier([tier(128, 400, 1000.0, 0.2), tier(256, 300, 500.0, 0.4)])
    assert memory == 256


# -- billing -------------------------------------------------------------------------------------
def test_init_already_in_billed_duration_is_not_charged_twice() -> None:
    # A 2026 REPORT: Duration 12.68 + Init 295.33 → Billed 309.
    folded = Sample("r", duration_ms=12.68, billed_ms=309, max_memory_mb=80, init_ms=295.33)
    assert init_charge_ms(folded) == 0.0


def test_init_left_out_of_billed_duration_is_charged() -> None:
    old_format = Sample("r", duration_ms=12.68, billed_ms=13, max_memory_mb=80, init_ms=295.33)
    assert init_charge_ms(old_format) == 296.0
    warm = Sample("r", duration_ms=12.68, billed_ms=13, max_memory_mb=80)
    assert init_charge_ms(warm) == 0.0


# -- records -------------------------------------------------------------------------------------
def test_result_round_trips_through_json_and_keeps_the_contract_keys() -> None:
    functions = [
        function("small", 1000, [tier(128, 100, 300, 1), tier(512, 90, 150, 2)]),
        function("big", 5000, [tier(128, 700, 1500, 1), tier(512, 600, 900, 2)]),
    ]
    result = RemoteResult(
        functions=tuple(functions),
        correlation=correlate(functions),
        memory_tiers=(128, 512),
        samples=1,
        warm=0,
        concurrency=1,
        local=True,
    )
    data = json.loads(render(result, OutputFormat.json))
    assert {"schema_version", "functions", "correlation"} <= set(data)
    entry = data["functions"][0]
    for key in (
        "arn",
        "runtime",
        "architecture",
        "code_size_bytes",
        "original_memory_mb",
        "restored",
        "tiers",
    ):
        assert key in entry
    tier_data = entry["tiers"][0]
    assert set(tier_data["init_ms"]) == {"median", "p90"}
    assert set(tier_data["cost_usd_per_million"]) == {"cold", "warm"}
    assert {"init_ms", "duration_ms", "billed_ms", "max_memory_mb"} <= set(tier_data["cold"][0])
    assert {"init_vs_memory", "init_vs_package_size"} <= set(data["correlation"])
    assert RemoteResult.from_dict(data) == result


def test_every_advertised_format_renders() -> None:
    functions = [function("small", 1000, [tier(128, 100, 300, 1), tier(512, 90, 150, 2)])]
    result = RemoteResult(
        functions=tuple(functions),
        correlation=correlate(functions),
        memory_tiers=(128, 512),
        samples=1,
        warm=0,
        concurrency=1,
        local=True,
    )
    formats = supported("remote")
    assert {OutputFormat.table, OutputFormat.markdown, OutputFormat.json} <= set(formats)
    for fmt in formats:
        assert "small" in render(result, fmt)
    table = render(result, OutputFormat.table)
    assert "* 512 MB" in table and "* 128 MB" not in table
    assert "init vs memory" in table


def test_package_sizes_a_few_bytes_apart_give_no_slope() -> None:
    # Two tiny functions (183 B and 415 B) in two tiers: one distinct size at 1 MB resolution.
    points = [
        ("128", 183 / 1e8, 37.0),
        ("128", 415 / 1e8, 332.0),
        ("1769", 183 / 1e8, 52.0),
        ("1769", 415 / 1e8, 343.0),
    ]
    result = relation(points, "package_unzipped_bytes", "init_ms", "ms per 100 MB", "memory tier")
    assert result.slope is None and result.spearman is None
    assert result.caveat is not None
