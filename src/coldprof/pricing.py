"""What Lambda invocations cost in US dollars: request charge plus GB-seconds of billed time."""

from __future__ import annotations

import datetime
import math

from coldprof.lambda_facts import PRICE_PER_GB_SECOND_USD, PRICE_PER_REQUEST_USD

# From this date Lambda bills the INIT phase of on-demand zip functions on managed runtimes
# ("AWS Lambda standardizes billing for INIT phase", AWS Compute Blog, 2025). Container images,
# custom (OS-only) runtimes and provisioned concurrency were billed for INIT already.
INIT_BILLED_FROM = datetime.date(2025, 8, 1)

_MB_PER_GB = 1024
_PACKAGE_TYPES = ("zip", "image")


def invocation_cost_usd(
    billed_ms: float,
    memory_mb: int,
    architecture: str = "x86_64",
    init_billed_ms: float = 0.0,
) -> float:
    """One invocation's cost: the request charge plus (billed + init billed) GB-seconds.

    Memory in GB is memory_mb / 1024, as AWS and aws-lambda-power-tuning compute it. The
    durations are taken as already billed (whole ms); see `aws.report.billed_ms`. Pass the
    init duration only where `init_is_billed` says INIT is charged, and only when `billed_ms`
    leaves it out: REPORT lines captured since INIT_BILLED_FROM appear to fold the init into
    Billed Duration already (Duration 12.68 + Init Duration 295.33 → Billed Duration 309).
    """
    price = _price_per_gb_second(architecture)
    for name, value in (("billed_ms", billed_ms), ("init_billed_ms", init_billed_ms)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite, non-negative number, not {value}")
    if memory_mb <= 0:
        raise ValueError(f"memory_mb must be positive, not {memory_mb}")
    gb_seconds = (billed_ms + init_billed_ms) / 1000 * (memory_mb / _MB_PER_GB)
    return PRICE_PER_REQUEST_USD + gb_seconds * price


def cost_per_million_usd(
    billed_ms: float,
    memory_mb: int,
    architecture: str = "x86_64",
    init_billed_ms: float = 0.0,
) -> float:
    """`invocation_cost_usd` for a million such invocations."""
    return invocation_cost_usd(billed_ms, memory_mb, architecture, init_billed_ms) * 1_000_000


def init_is_billed(
    package_type: str = "Zip",
    managed_runtime: bool = True,
    on_demand: bool = True,
    *,
    as_of: datetime.date | None = None,
) -> bool:
    """Whether Lambda charges for the INIT phase of such a function, today or on `as_of`.

    From INIT_BILLED_FROM every configuration is billed for INIT. Before it, only on-demand zip
    functions on managed runtimes were exempt. Provisioned concurrency's INIT is charged at
    provisioned-concurrency rates, which `invocation_cost_usd` does not model.
    `package_type` is the Lambda API's PackageType, "Zip" or "Image".
    """
    if package_type.lower() not in _PACKAGE_TYPES:
        raise ValueError(f"unknown package type {package_type!r}; expected 'Zip' or 'Image'")
    if as_of is None or as_of >= INIT_BILLED_FROM:
        return True
    exempt = package_type.lower() == "zip" and managed_runtime and on_demand
    return not exempt


def _price_per_gb_second(architecture: str) -> float:
    try:
        return PRICE_PER_GB_SECOND_USD[architecture]
    except KeyError as e:
        known = ", ".join(sorted(PRICE_PER_GB_SECOND_USD))
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {known}") from e
