"""Distribution names as PEP 503 compares them."""

from __future__ import annotations

import re


def normalize_name(name: str) -> str:
    """PEP 503: lowercase, runs of -_. become one -."""
    return re.sub(r"[-_.]+", "-", name).lower()
