"""Tests for coldprof.estimate.calibrate: the fit recovers a model it was made from."""

from __future__ import annotations

import pytest

from coldprof.estimate.calibrate import Point, fit
from coldprof.estimate.model import InitFeatures


def _point(
    name: str,
    cpu: float,
    mb: float,
    package_type: str,
    published: float,
    runtime: str = "python3.11",
    architecture: str = "x86_64",
    workload: str | None = None,
) -> Point:
    features = InitFeatures(
        runtime="python3.11",
        cpu_ms=cpu,
        read_bytes=int(mb * 2**20),
        shared_libraries=5,
        package_library_bytes=0,
        modules=100,
        reference_cpu_ms=50.0,
    )
    return Point(
        name, workload or name, runtime, architecture, package_type, published, "test", features
    )


def test_the_fit_recovers_known_coefficients_and_factors() -> None:
    # Published figures made from a known model: base 40 (zip) / 120 (image), 2 ms per CPU ms,
    # 10 ms per MB for zips, python3.13 ×1.2, arm64 ×0.8.
    def truth(cpu: float, mb: float, kind: str) -> float:
        return (40 if kind == "zip" else 120) + 2 * cpu + (10 * mb if kind == "zip" else 0)

    points = [
        _point("a", 20, 1, "zip", truth(20, 1, "zip"), workload="a"),
        _point("a 3.13", 20, 1, "zip", 1.2 * truth(20, 1, "zip"), "python3.13", workload="a"),
        _point("b", 200, 8, "zip", truth(200, 8, "zip"), workload="b"),
        _point(
            "b arm", 200, 8, "zip", 0.8 * truth(200, 8, "zip"), architecture="arm64", workload="b"
        ),
        _point("c", 400, 50, "zip", truth(400, 50, "zip")),
        _point("d", 40, 2, "image", truth(40, 2, "image")),
        _point("e", 300, 70, "image", truth(300, 70, "image")),
        _point("f", 900, 90, "image", truth(900, 90, "image")),
        _point("g", 90, 20, "zip", truth(90, 20, "zip")),
    ]
    result = fit(points, {"python3.11": 50.0})
    terms = {(t.feature, t.package_types): t.coefficient for t in result.model.terms}
    assert terms[("one", ("zip",))] == pytest.approx(40, rel=1e-3)
    assert terms[("one", ("image",))] == pytest.approx(120, rel=1e-3)
    assert terms[("cpu_ms", ("zip", "image"))] == pytest.approx(2, rel=1e-3)
    assert terms[("file_mb", ("zip",))] == pytest.approx(10, rel=1e-3)
    assert result.model.runtime_factors["python3.13"] == pytest.approx(1.2)
    assert result.model.architecture_factors["arm64"] == pytest.approx(0.8)
    for point, fitted in zip(points, result.fitted_ms, strict=True):
        assert fitted == pytest.approx(point.published_ms, rel=1e-3)
