"""The `coldprof report` command: re-render a saved analyze, remote or audit JSON."""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from coldprof.cli.app import (
    FormatOption,
    OutputOption,
    QuietOption,
    app,
    emit,
    fail,
    output_format,
)
from coldprof.errors import ColdprofError, UsageError

# kind → the module holding its result class (the class whose `kind` is that name).
RESULT_MODULES = {
    "analyze": "coldprof.results.models",
    "audit": "coldprof.results.audit",
    "remote": "coldprof.results.remote",
    "logs": "coldprof.results.logs",
    "project": "coldprof.measure.project",
    "project_audit": "coldprof.audit.project",
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


def result_class(kind: str) -> Any:
    module_name = RESULT_MODULES.get(kind)
    if module_name is None:
        known = ", ".join(sorted(RESULT_MODULES))
        raise UsageError(f"unknown result kind {kind!r} (coldprof reads {known})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"this coldprof cannot read {kind} results ({e})") from e
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "kind", None) == kind:
            if hasattr(value, "from_dict"):
                return value
    raise UsageError(f"this coldprof cannot read {kind} results")


def result_from_dict(data: Any, source: str) -> Any:
    """The result object a saved JSON holds, chosen by its `kind`."""
    from coldprof.results.models import SCHEMA_VERSION

    if not isinstance(data, Mapping):
        raise UsageError(f"{source}: not a coldprof result (expected a JSON object)")
    kind = infer_kind(data)
    if kind is None:
        raise UsageError(f"{source}: not a coldprof result (no kind, dependencies or functions)")
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UsageError(f"{source}: schema_version {version!r} is not one coldprof writes")
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"{source}: written by a newer coldprof (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION})",
            hint="upgrade coldprof to read it",
        )
    try:
        cls = result_class(kind)
    except UsageError as e:
        raise UsageError(f"{source}: {e.message}", e.hint) from e
    try:
        return cls.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UsageError(f"{source}: not a readable {kind} result ({type(e).__name__}: {e})") from e


def load_result(path: Path) -> Any:
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


def parse_json(text: str, source: str) -> Any:
    """JSON as coldprof writes it: finite numbers only, nested no deeper than MAX_JSON_DEPTH.

    A NaN that got into a baseline would compare false with everything and pass every audit.
    """
    import json

    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
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


def _depth(data: Any) -> int:
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


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="A result saved with --format json.")],
    fmt: FormatOption = None,
    output: OutputOption = None,
    top: Annotated[int, typer.Option(min=0, help="Dependencies to show in tables (0: all).")] = 15,
    quiet: QuietOption = False,
) -> None:
    """Re-render a saved analyze, remote or audit result (JSON) in another format."""
    try:
        output_format(fmt, output)
        result = load_result(file)
        emit(result, fmt, output, top, quiet)
    except ColdprofError as e:
        fail(e)
