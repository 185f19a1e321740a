"""Every response a boto3 client reads, checked against botocore's model of its operation."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import OperationModel, Shape

# The emulator sends an error's message under both spellings; each modelled exception reads one.
_MESSAGE_KEYS = frozenset({"message", "Message"})
# Errors any AWS endpoint may answer to any call, modelled or not: an operation it does not
# serve, and a request refused before it reaches one.
_COMMON_ERRORS = frozenset(
    {"UnknownOperationException", "AccessDeniedException", "MissingAuthenticationTokenException"}
)


def check_responses(client: Any) -> Any:
    """Make ``client`` fail any call whose response body is not what the model says it returns:
    an unknown or mistyped field, a missing required one, or an error the operation cannot raise.
    """
    client.meta.events.register("after-call", _after_call)
    return client


def _after_call(
    http_response: Any, parsed: dict[str, Any], model: OperationModel, **_: Any
) -> None:
    status = http_response.status_code
    output = model.output_shape
    if status < 300 and output is not None and output.serialization.get("payload"):
        return  # Invoke's body is the function's payload, a stream its caller reads
    raw = http_response.content
    if status >= 300:
        code = parsed.get("Error", {}).get("Code")
        modelled = {shape.name: shape for shape in model.error_shapes}
        if code in _COMMON_ERRORS:
            return
        assert code in modelled, f"{model.name} cannot raise {code} ({sorted(modelled)})"
        body = json.loads(raw) if raw else {}
        extra = set(body) - set(modelled[code].members) - _MESSAGE_KEYS - {"__type"}
        assert not extra, f"{code} body has unmodelled {sorted(extra)}"
        return
    if output is None or not raw:
        return  # DeleteFunction's body is empty
    problems = shape_problems(output, json.loads(raw), model.name)
    assert not problems, "\n".join(problems)


def shape_problems(shape: Shape, value: Any, path: str) -> list[str]:
    """Where ``value`` (a decoded JSON body or part of one) strays from ``shape``."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object"]
        members = {
            member.serialization.get("name", name): member
            for name, member in shape.members.items()
            if "location" not in member.serialization  # headers and status, not the body
        }
        problems = [f"{path}.{key}: not in the model" for key in value if key not in members]
        problems.extend(
            f"{path}.{key}: required, missing"
            for key in shape.required_members
            if key in members and key not in value
        )
        for key, item in value.items():
            if key in members:
                problems.extend(shape_problems(members[key], item, f"{path}.{key}"))
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list"]
        return [
            p
            for i, item in enumerate(value)
            for p in shape_problems(shape.member, item, f"{path}[{i}]")
        ]  # type: ignore[attr-defined]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not a map"]
        return [
            p
            for k, item in value.items()
            for p in shape_problems(shape.value, item, f"{path}[{k}]")
        ]  # type: ignore[attr-defined]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a string"]
        enum = shape.enum
        return [f"{path}: {value!r} not one of {enum}"] if enum and value not in enum else []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if kind == "timestamp":
        ok = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a timestamp"]
    return []
