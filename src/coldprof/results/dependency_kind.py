"""What a dependency is: the function's own code, a distribution, the runtime's, the stdlib."""

from __future__ import annotations

import enum


class DependencyKind(str, enum.Enum):
    """A str enum, so that results hold (and JSON shows) the same strings as before it."""

    FUNCTION = "function"  # the handler's own modules
    THIRD_PARTY = "third-party"  # a distribution in the package or a layer (or unresolved)
    RUNTIME = "runtime"  # what the Lambda runtime bundles: boto3, botocore, ...
    STDLIB = "stdlib"

    def __str__(self) -> str:
        # Python 3.12 formats a mixed-in enum by its name; tables show the value on every version.
        return self.value
