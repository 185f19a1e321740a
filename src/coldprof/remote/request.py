"""What `coldprof remote` was asked to do, checked before anything is touched."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coldprof.aws.connection import Connection
from coldprof.errors import UsageError
from coldprof.lambda_facts import DEFAULT_TIERS, MAX_MEMORY_MB, MIN_MEMORY_MB, PLATFORM_TAGS

ARCHITECTURES = tuple(PLATFORM_TAGS)


@dataclass(frozen=True)
class RemoteRequest:
    """What `coldprof remote` was asked to do."""

    arns: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    memory_tiers: tuple[int, ...] = DEFAULT_TIERS
    samples: int = 5
    warm: int = 2
    payload: bytes = b"{}"
    concurrency: int = 1
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    role: str | None = None
    keep: bool = False
    architecture: str = "x86_64"
    runtime: str | None = None
    handler: str | None = None
    follow_symlinks: bool = False  # deploy what links leaving the folder point at
    # For deployed function directories: variables over the template's, and layer folders
    # (like /opt) added after the template's own.
    env: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[Path, ...] = ()
    function: str | None = None  # a project's function, by logical id or serverless name
    parameters: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.arns and not self.paths:
            raise UsageError("nothing to profile: pass function directories or --arn ARN")
        if self.arns and self.paths:
            raise UsageError("pass either function directories or --arn, not both")
        if not self.memory_tiers:
            raise UsageError("--memory: give at least one memory size")
        for memory in self.memory_tiers:
            if not MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB:
                raise UsageError(
                    f"--memory {memory}: Lambda allows {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MB"
                )
        if len(set(self.memory_tiers)) != len(self.memory_tiers):
            raise UsageError("--memory: a memory size is listed twice")
        if self.samples < 1 or self.concurrency < 1 or self.warm < 0:
            raise UsageError("--samples and --concurrency must be at least 1, --warm at least 0")
        if self.architecture not in ARCHITECTURES:
            raise UsageError(f"--architecture {self.architecture}: expected x86_64 or arm64")
        if self.runtime is not None and not re.fullmatch(r"python3\.\d+", self.runtime):
            raise UsageError(f"--runtime {self.runtime}: expected python3.N, e.g. python3.12")
        if self.paths and not self.role and not self.against_emulator:
            raise UsageError(
                "deploying a function directory needs --role ROLE_ARN",
                hint="the execution role the temporary function runs as; an emulator needs none",
            )
        if self.arns and (self.env or self.layers or self.function):
            raise UsageError(
                "--env, --layer and --function are for function directories remote deploys",
                hint="a deployed function keeps its own environment and layers",
            )
        for layer in self.layers:
            if not layer.is_dir():
                raise UsageError(f"--layer {layer}: not a directory")
        if self.local and self.endpoint_url:
            raise UsageError("pass either --local or --endpoint-url, not both")
        for arn in self.arns:
            if re.match(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+:", arn):
                raise UsageError(
                    f"--arn {arn}: coldprof sweeps the unpublished $LATEST version",
                    hint="pass the ARN without its version or alias",
                )
        if self.local and self.arns:
            raise UsageError(
                "--local starts an empty emulator, which holds no function to --arn",
                hint="pass function directories with --local, or --endpoint-url of a running "
                "`coldprof emulator`",
            )
        try:
            json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise UsageError(f"--payload is not valid JSON: {e}") from e

    @property
    def against_emulator(self) -> bool:
        """--local, or an endpoint on this machine: nothing is billed and any role will do."""
        connection = Connection.from_options(self.region, self.profile, self.endpoint_url)
        return self.local or connection.is_local

    @property
    def rounds_per_tier(self) -> int:
        """Configuration updates per tier: each one yields up to `concurrency` cold starts."""
        return math.ceil(self.samples / self.concurrency)
