"""The usage trace the traced cold start wrote, and what maps its files to dependencies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from coldprof.measure.distributions import DependencyRef
from coldprof.results.advisor import InitSideEffects


class Resolver(Protocol):
    """What the advisor needs from distributions.Attribution."""

    def dependency_of(self, module: str) -> DependencyRef: ...

    def dependency_of_file(self, file: str | Path) -> DependencyRef | None: ...

    def source_file(self, module: str) -> Path | None: ...


@dataclass(frozen=True)
class InvocationUsage:
    """What one invocation ran."""

    files: tuple[str, ...]  # code files that ran
    modules: tuple[str, ...]  # modules of the C functions called


@dataclass(frozen=True)
class UsageTrace:
    """The traced cold start's record (the usage tracer the runner starts it with)."""

    tracer: str
    python: str
    cwd: str
    init_code: tuple[tuple[str, str], ...]  # (code file, module body file it ran under)
    init_calls: tuple[tuple[str, str], ...]  # (C function's module, module body file)
    effects: InitSideEffects  # what init did besides importing
    invocations: tuple[InvocationUsage, ...]


def _effects(effects: Mapping[str, Any]) -> InitSideEffects:
    return InitSideEffects(
        network=tuple(map(str, effects.get("network", ()))),
        dns=tuple(dict.fromkeys(map(str, effects.get("dns", ())))),
        subprocesses=tuple(map(str, effects.get("subprocesses", ()))),
        file_opens=int(effects.get("opens", 0)),
        module_file_opens=int(effects.get("module_opens", 0)),
        other_files=tuple(map(str, effects.get("other_opens", ())))[:20],
    )


def parse_usage(text: str) -> UsageTrace | None:
    """Read the child's JSON usage trace; None when there is none or it cannot be read."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    init = data.get("init") or {}

    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        return tuple(
            (str(p[0]), str(p[1])) for p in init.get(key, ()) if isinstance(p, list) and len(p) == 2
        )

    return UsageTrace(
        tracer=str(data.get("tracer", "")),
        python=str(data.get("python", "")),
        cwd=str(data.get("cwd", "")),
        init_code=pairs("code"),
        init_calls=pairs("calls"),
        effects=_effects(init.get("effects") or {}),
        invocations=tuple(
            InvocationUsage(tuple(i.get("files", ())), tuple(i.get("modules", ())))
            for i in data.get("invocations", ())
            if isinstance(i, dict)
        ),
    )
