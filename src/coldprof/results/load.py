"""Read any saved result by its `kind`: one loader, a one-line usage error for every bad file."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from coldprof.errors import UsageError

if TYPE_CHECKING:
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.audit import AuditResult
    from coldprof.results.logs import LogsResult
    from coldprof.results.project import ProjectAuditResult, ProjectResult
    from coldprof.results.remote import RemoteResult

# Every result coldprof writes, saves and renders.
Result: TypeAlias = (
    "AnalyzeResult | AuditResult | RemoteResult | LogsResult | ProjectResult | ProjectAuditResult"
)


# One reader per kind, each importing its records only when a file of that kind is read: `coldprof
# report` of an analyze result never imports the remote sweep. Each returns (the reader, the
# newest schema version of that kind).
def _analyze() -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    from coldprof.results.analyze import SCHEMA_VERSION, AnalyzeResult

    return AnalyzeResult.from_dict, SCHEMA_VERSION


def _audit() -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    from coldprof.results.audit import SCHEMA_VERSION, AuditResult

    return AuditResult.from_dict, SCHEMA_VERSION


def _remote() -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    from coldprof.results.remote import SCHEMA_VERSION, RemoteResult

    return RemoteResult.from_dict, SCHEMA_VERSION


def _logs() -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    from coldprof.results.logs import SCHEMA_VERSION, LogsResult

    return LogsResult.from_dict, SCHEMA_VERSION


def _project() -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    from coldprof.results.project import PROJECT_SCHEMA_VERSION, ProjectResult

    return ProjectResult.from_dict, PROJECT_SCHEMA_VERSION


def _project_audit() -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    from coldprof.results.project import PROJECT_AUDIT_SCHEMA_VERSION, ProjectAuditResult

    return ProjectAuditResult.from_dict, PROJECT_AUDIT_SCHEMA_VERSION


READERS: dict[str, Callable[[], tuple[Callable[[Mapping[str, Any]], Result], int]]] = {
    "analyze": _analyze,
    "audit": _audit,
    "remote": _remote,
    "logs": _logs,
    "project": _project,
    "project_audit": _project_audit,
}


def infer_kind(data: Mapping[str, Any]) -> str | None:
    """The kind of a result saved before results carried a `kind` field."""
    if "kind" in data:
        return str(data["kind"])
    if "findings" in data:
        return "audit"
    if "functions" in data:
        return "remote"
    if any(key in data for key in ("dependencies", "init_ms", "imports")):
        return "analyze"
    return None


def reader(kind: str) -> tuple[Callable[[Mapping[str, Any]], Result], int]:
    """How to read a saved result of ``kind``, and the newest schema version of that kind."""
    load = READERS.get(kind)
    if load is None:
        known = ", ".join(sorted(READERS))
        raise UsageError(
            f"unknown result kind {kind!r} (coldprof reads {known})",
            hint="a newer coldprof may have written it: upgrade coldprof to read it",
        )
    try:
        return load()
    except ImportError as e:
        raise UsageError(f"this coldprof cannot read {kind} results ({e})") from e


def result_from_dict(data: object, source: str) -> Result:
    """The result object a saved JSON holds, chosen by its `kind`."""
    if not isinstance(data, Mapping):
        raise UsageError(f"{source}: not a coldprof result (expected a JSON object)")
    kind = infer_kind(data)
    if kind is None:
        raise UsageError(f"{source}: not a coldprof result (no kind, dependencies or functions)")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UsageError(f"{source}: schema_version {version!r} is not one coldprof writes")
    try:
        read, newest = reader(kind)
    except UsageError as e:
        raise UsageError(f"{source}: {e.message}", e.hint) from e
    if version > newest:
        raise UsageError(
            f"{source}: written by a newer coldprof (schema {version}; this one reads up to "
            f"{newest})",
            hint="upgrade coldprof to read it",
        )
    try:
        return read(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UsageError(f"{source}: not a readable {kind} result ({type(e).__name__}: {e})") from e


def load_result(path: Path) -> Result:
    """Read a saved result; every way this can go wrong is a one-line usage error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise UsageError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise UsageError(f"{path}: is a directory, not a saved result") from e
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot be read ({e})") from e
    return result_from_dict(parse_json(text, str(path)), str(path))


# Deeper than any result coldprof writes (an import tree is a few dozen levels), shallow enough
# that reading one never exhausts the interpreter's stack.
MAX_JSON_DEPTH = 200


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"the number {text} is out of range")
    return value


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number a coldprof result can hold")


def parse_json(text: str, source: str) -> object:
    """JSON as coldprof writes it: finite numbers only, nested no deeper than MAX_JSON_DEPTH.

    A NaN that got into a baseline would compare false with everything and pass every audit.
    """
    import json

    try:
        data: object = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError as e:
        raise UsageError(f"{source}: JSON nested too deep to be a coldprof result") from e
    except ValueError as e:
        raise UsageError(f"{source}: not JSON coldprof can read ({e})") from e
    deepest = _depth(data)
    if deepest > MAX_JSON_DEPTH:
        raise UsageError(
            f"{source}: JSON nested {deepest} deep; no coldprof result is (it reads up to "
            f"{MAX_JSON_DEPTH})"
        )
    return data


def _depth(data: object) -> int:
    """How deep containers nest in ``data``, counted without recursion."""
    deepest = 0
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            pending.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return deepest
