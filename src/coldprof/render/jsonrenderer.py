"""JSON: the stable contract that saved results, tests and downstream tools read."""

from __future__ import annotations

import json
from typing import Any


def render(result: Any, **_options: Any) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
