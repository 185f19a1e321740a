"""Which runtime client runs the function: awslambdaric, or coldprof's stand-in where it is not."""

from __future__ import annotations

import os

RUNTIME_CLIENT_ENV = "COLDPROF_RUNTIME_CLIENT"
AWSLAMBDARIC = "awslambdaric"
STANDIN = "standin"
STANDIN_LABEL = "coldprof's stand-in"


def default_runtime_client() -> str:
    """awslambdaric where it is installed (Linux), else coldprof's stand-in; COLDPROF_RUNTIME_CLIENT
    (`standin` or `awslambdaric`) chooses, so Linux can test the stand-in too."""
    chosen = os.environ.get(RUNTIME_CLIENT_ENV, "").strip().lower()
    if chosen in (STANDIN, AWSLAMBDARIC):
        return chosen
    import importlib.util

    return AWSLAMBDARIC if importlib.util.find_spec("awslambdaric") is not None else STANDIN


def runtime_client_label(client: str) -> str:
    return STANDIN_LABEL if client == STANDIN else client
