"""The AWS SDK a package ships although Lambda's Python runtime already provides it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coldprof.measure.distributions import (
    KIND_RUNTIME,
    Footprint,
    InstalledDistribution,
    SizeCache,
    footprint,
)

# The SDK the managed Python runtimes bundle, which a requirements.txt often pins anyway. Their
# other dependencies (urllib3, python-dateutil, six, jmespath) are not listed: other packages
# legitimately pull those in, and dropping boto3 from requirements.txt does not remove them.
SDK_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer")


@dataclass(frozen=True)
class RuntimeProvided:
    """What the package ships of the runtime's SDK, and what that weighs."""

    distributions: tuple[str, ...]  # "boto3 1.35.90", in SDK_DISTRIBUTIONS order
    weight: Footprint

    def warning(self) -> str:
        return (
            f"the package ships {', '.join(self.distributions)} "
            f"({self.weight.unzipped_bytes / 2**20:.1f} MB unzipped, "
            f"{self.weight.zipped_bytes / 2**20:.1f} MB zipped), which Lambda's Python runtime "
            "already provides: drop boto3 from requirements.txt unless the function needs a newer "
            "version than the runtime's"
        )


def runtime_provided(
    distributions: Iterable[InstalledDistribution], sizes: SizeCache
) -> RuntimeProvided | None:
    """The runtime's SDK among the package's (and layers') distributions; None when absent."""
    shipped = {d.name: d for d in distributions if d.kind != KIND_RUNTIME}
    found = [shipped[name] for name in SDK_DISTRIBUTIONS if name in shipped]
    if not any(d.name in ("boto3", "botocore") for d in found):
        return None  # s3transfer alone is some other package's choice
    weight = Footprint()
    for dist in found:
        extra = footprint(dist.files, sizes)
        weight = Footprint(
            weight.unzipped_bytes + extra.unzipped_bytes,
            weight.zipped_bytes + extra.zipped_bytes,
            weight.files + extra.files,
        )
    return RuntimeProvided(tuple(f"{d.name} {d.version}" for d in found), weight)
