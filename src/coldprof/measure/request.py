"""What an analyze asks for (AnalyzeRequest), and the --event files it reads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coldprof.errors import UsageError
from coldprof.lambda_facts import INIT_LIMIT_S


@dataclass(frozen=True)
class AnalyzeRequest:
    """Everything an analyze of one function is asked to do, as the options give it."""

    path: Path
    handler: str | None = None
    runs: int = 10
    # Where the kernel cannot say whether a cold start read from disk, the first this many are
    # discarded as warm-ups; elsewhere only runs that did read from disk are (see
    # series.COLD_CACHE_BYTES).
    warmup: int = 1
    build: bool = True
    layers: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # Cold starts on the other side of the bytecode question: three is the fewest that, against
    # ten main runs, give the penalty a 95 % interval narrower than the full range.
    bytecode_runs: int = 3
    init_limit_s: float = INIT_LIMIT_S
    cache_dir: Path | None = None
    events: tuple[Path, ...] = ()  # the lazy-import advisor: invoke these after a traced init
    verify: bool = False  # ... and measure a copy with the deferrable imports deferred
    follow_symlinks: bool = False  # package what links leaving the folder point at
    function: str | None = None  # a project's function, by logical id (or serverless name)
    parameters: Mapping[str, str] = field(default_factory=dict)  # template parameter overrides
    lines: bool = True  # the function's own init line by line (one more, traced, cold start)
    line_dependencies: tuple[str, ...] = ()  # --lines NAME: these dependencies' lines too
    # --runs auto: measure at least ``runs`` (runcount.AUTO_MIN_RUNS at least), then stop once
    # the init median's 95 % interval is within runcount.AUTO_PRECISION of it, or at
    # ``max_runs``.
    auto_runs: bool = False
    max_runs: int = 30
    build_variant: str = ""  # see build.package.build_package
    # Lambda's architecture for the estimate of its Init Duration there; None: the one built for.
    lambda_architecture: str | None = None
    package_type: str = "zip"
    python: str | None = None  # --python: a version, python3.N or a path; else the Runtime
    runtime_boto3: str | None = None  # --runtime-boto3: overrides Lambda's table
    filesystem: str | None = None  # "lambda" or "copy"; None: lambda where the kernel allows
    page_cache: str = "warm"  # "cold": evict the package and layers before each cold start
    installer: str = "auto"  # auto (uv where it yields pip's package), pip or uv
    architecture: str | None = None  # the platform tags built for; None: the template's or x86_64


def read_events(paths: Sequence[Path]) -> list[bytes]:
    """Each --event file's bytes, once it is known to hold JSON."""
    payloads = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"--event {path}: {e.strerror or e}") from e
        try:
            json.loads(data)
        except RecursionError as e:
            raise UsageError(f"--event {path}: JSON nested too deep to read") from e
        except json.JSONDecodeError as e:
            raise UsageError(
                f"--event {path}: not valid JSON ({e.msg}, line {e.lineno} column {e.colno})"
            ) from e
        except ValueError as e:  # bytes that are no Unicode text
            raise UsageError(f"--event {path}: not valid JSON ({e})") from e
        payloads.append(data)
    return payloads
