"""One emulator per test module, on 127.0.0.1, and boto3 clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from coldprof.emulator.server import LocalLambda
from lambda_client import client_for


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    # Updates stay InProgress long enough for a second one to meet a ResourceConflictException.
    with LocalLambda(update_seconds=0.2) as url:
        yield url


@pytest.fixture(scope="module")
def lam(endpoint: str) -> Any:
    return client_for(endpoint)


@pytest.fixture(scope="module")
def cwlogs(endpoint: str) -> Any:
    return client_for(endpoint, "logs")
