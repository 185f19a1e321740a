"""Tests for coldprof.pricing against figures worked out by hand."""

from __future__ import annotations

import datetime

import pytest

from coldprof.pricing import (
    INIT_BILLED_FROM,
    cost_per_million_usd,
    init_is_billed,
    invocation_cost_usd,
)


def test_128_mb_100_ms_x86() -> None:
    # request 0.2e-6 + 0.1 s × 0.125 GB × 0.0000166667
    expected = 0.2e-6 + 0.1 * 0.125 * 0.0000166667
    assert invocation_cost_usd(100, 128) == pytest.approx(expected, rel=1e-12)
    assert invocation_cost_usd(100, 128) == pytest.approx(4.0833375e-7, rel=1e-12)


def test_arm64_is_cheaper_per_gb_second() -> None:
    # 1024 MB is exactly 1 GB, so 1 s costs the GB-second price.
    assert invocation_cost_usd(1000, 1024, "arm64") == pytest.approx(0.2e-6 + 0.0000133334)
    assert invocation_cost_usd(1000, 1024, "x86_64") == pytest.approx(0.2e-6 + 0.0000166667)


def test_memory_in_gb_divides_by_1024_not_1000() -> None:
    # 1536 MB is 1.5 GB: 2 s × 1.5 GB = 3 GB-s
    assert invocation_cost_usd(2000, 1536) == pytest.approx(0.2e-6 + 3 * 0.0000166667)


def test_init_billed_ms_adds_to_the_duration() -> None:
    # 12 ms invoke + 295 ms init at 512 MB: 0.307 s × 0.5 GB
    assert invocation_cost_usd(12, 512, init_billed_ms=295) == pytest.approx(
        0.2e-6 + 0.307 * 0.5 * 0.0000166667
    )
    assert invocation_cost_usd(12, 512, init_billed_ms=295) == pytest.approx(
        invocation_cost_usd(307, 512)
    )


def test_zero_duration_still_pays_the_request() -> None:
    assert invocation_cost_usd(0, 128) == pytest.approx(0.2e-6)


def test_cost_per_million() -> None:
    # 0.20 USD of requests + 1e6 × 0.1 s × 0.125 GB × price = 0.20 + 0.20833375
    assert cost_per_million_usd(100, 128) == pytest.approx(0.40833375, rel=1e-9)
    assert cost_per_million_usd(200, 2048, "arm64", init_billed_ms=50) == pytest.approx(
        0.20 + 1e6 * 0.25 * 2 * 0.0000133334, rel=1e-9
    )


def test_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="architecture 'x86'"):
        invocation_cost_usd(100, 128, "x86")
    with pytest.raises(ValueError, match="architecture"):
        cost_per_million_usd(100, 128, "ARM64")


@pytest.mark.parametrize(
    ("billed", "memory", "init"),
    [(-1, 128, 0), (1, 0, 0), (1, 128, -5), (float("nan"), 128, 0), (1, 128, float("inf"))],
)
def test_impossible_inputs(billed: float, memory: int, init: float) -> None:
    with pytest.raises(ValueError):
        invocation_cost_usd(billed, memory, init_billed_ms=init)


def test_init_billing_date() -> None:
    assert datetime.date(2025, 8, 1) == INIT_BILLED_FROM


def test_init_is_billed_for_everything_today() -> None:
    assert init_is_billed()
    assert init_is_billed("Image", managed_runtime=False, on_demand=True)
    assert init_is_billed("Zip", True, True, as_of=INIT_BILLED_FROM)


def test_before_the_change_only_on_demand_zip_managed_was_free() -> None:
    before = INIT_BILLED_FROM - datetime.timedelta(days=1)
    assert not init_is_billed("Zip", managed_runtime=True, on_demand=True, as_of=before)
    assert not init_is_billed("zip", as_of=before)  # PackageType is matched case-insensitively
    assert init_is_billed("Image", managed_runtime=True, on_demand=True, as_of=before)
    assert init_is_billed("Zip", managed_runtime=False, on_demand=True, as_of=before)
    assert init_is_billed("Zip", managed_runtime=True, on_demand=False, as_of=before)


def test_unknown_package_type() -> None:
    with pytest.raises(ValueError, match="package type"):
        init_is_billed("Jar")
