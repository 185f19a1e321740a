"""The package's size, bytecode and penalty, with warnings where it meets Lambda's limits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from coldprof.build.runtime_provided import runtime_provided
from coldprof.lambda_facts import UNZIPPED_LIMIT_BYTES, ZIPPED_LIMIT_BYTES
from coldprof.measure.bytecode import BytecodePenalty
from coldprof.measure.distributions import (
    Footprint,
    InstalledDistribution,
    SizeCache,
    bytecode_fraction,
    footprint,
    walk_file_paths,
)
from coldprof.results.analyze import PackageSummary


def package_summary(
    task_root: Path,
    task_root_files: Sequence[str],
    layer_dirs: Sequence[Path],
    sizes: SizeCache,
    penalty: BytecodePenalty | None,
    distributions: Sequence[InstalledDistribution] = (),
    cache_tag: str | None = None,
) -> PackageSummary:
    """What the package and its layers weigh, whether it ships bytecode, and the warnings
    where it is over Lambda's size limits, carries the runtime's own SDK, or lacks bytecode."""
    package = footprint(task_root_files, sizes)
    layers = Footprint()
    for layer in layer_dirs:
        extra = footprint(walk_file_paths(layer), sizes)
        layers = Footprint(layers.unzipped_bytes + extra.unzipped_bytes, 0, 0)
    fraction = bytecode_fraction(task_root, task_root_files, cache_tag)
    warnings = []
    if package.zipped_bytes > ZIPPED_LIMIT_BYTES:
        warnings.append(
            f"zipped package is {package.zipped_bytes / 2**20:.1f} MiB, over Lambda's 50 MiB "
            "direct-upload limit (upload through S3, or trim it)"
        )
    if package.unzipped_bytes + layers.unzipped_bytes > UNZIPPED_LIMIT_BYTES:
        warnings.append(
            f"unzipped package with layers is "
            f"{(package.unzipped_bytes + layers.unzipped_bytes) / 2**20:.1f} MiB, over Lambda's "
            "250 MiB limit"
        )
    sdk = runtime_provided(distributions, sizes)
    if sdk is not None:
        warnings.append(sdk.warning())
    if fraction < 0.5:
        warnings.append(
            "the package ships no bytecode: /var/task is read-only, so every cold start "
            "recompiles its .py files"
        )
    return PackageSummary(
        unzipped_bytes=package.unzipped_bytes,
        zipped_bytes=package.zipped_bytes,
        files=package.files,
        has_bytecode=fraction >= 0.5,
        bytecode_fraction=round(fraction, 3),
        bytecode_penalty_ms=penalty.ms if penalty else None,
        bytecode_penalty_within_noise=penalty.within_noise if penalty else False,
        bytecode_penalty_ci95=penalty.ci95 if penalty else None,
        bytecode_penalty_runs=penalty.runs if penalty else 0,
        layers_unzipped_bytes=layers.unzipped_bytes,
        warnings=tuple(warnings),
        runtime_provided=sdk.distributions if sdk else (),
        runtime_provided_unzipped_bytes=sdk.weight.unzipped_bytes if sdk else 0,
        runtime_provided_zipped_bytes=sdk.weight.zipped_bytes if sdk else 0,
    )
