"""Tests for coldprof.estimate.model: the shipped model's estimate, scaled and widened."""

from __future__ import annotations

import pytest

from coldprof.estimate.model import InitFeatures, estimate, load_model


def test_the_speed_reference_scales_cpu_to_the_calibration_machine() -> None:
    model = load_model()
    assert model is not None, "the estimate model is missing: make calibrate"
    here = model.reference_cpu_ms["python3.11"]
    base = InitFeatures("python3.11", 200.0, 2**20, 10, 0, 300, here)
    # A machine twice as slow spends twice the CPU on the init and on the reference alike.
    slow = InitFeatures("python3.11", 400.0, 2**20, 10, 0, 300, 2 * here)
    a, b = estimate(base, model=model), estimate(slow, model=model)
    assert a is not None and b is not None
    assert b.mid_ms == pytest.approx(a.mid_ms, rel=1e-6)
    assert b.speed_factor == pytest.approx(0.5)


def test_outside_the_calibration_the_range_widens_and_says_why() -> None:
    model = load_model()
    assert model is not None
    reference = model.reference_cpu_ms["python3.11"]
    inside = estimate(InitFeatures("python3.11", 100.0, 2**20, 10, 0, 200, reference), model=model)
    unknown = estimate(InitFeatures("python3.99", 100.0, 2**20, 10, 0, 200, reference), model=model)
    huge = estimate(
        InitFeatures("python3.11", 10 * model.coverage.max_cpu_ms, 2**20, 10, 0, 200, reference),
        model=model,
    )
    assert inside is not None and unknown is not None and huge is not None
    assert inside.outside == ()
    assert any("python3.99 is not in the calibration" in r for r in unknown.outside)
    assert any("far past the largest calibrated" in r for r in huge.outside)
    width = inside.high_ms / inside.low_ms
    assert unknown.high_ms / unknown.low_ms > width
    assert "range widened: python3.99" in unknown.line()
