"""JSON: the stable contract that saved results, tests and downstream tools read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coldprof.results.load import Result


def render(result: Result, **_options: Any) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
