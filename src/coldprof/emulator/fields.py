"""Body and query field checks: each field of a request read, or refused as Lambda refuses it."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from coldprof.emulator.registry import FunctionRef, FunctionSettings
from coldprof.emulator.responses import invalid
from coldprof.lambda_facts import (
    MAX_DESCRIPTION,
    MAX_ENV_BYTES,
    MAX_MEMORY_MB,
    MAX_TIMEOUT_S,
    MIN_MEMORY_MB,
    RESERVED_ENV,
)

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def json_body(body: bytes) -> dict[str, Any]:
    """A request body as the JSON object the API takes; empty is an empty object."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError as e:
        raise invalid(f"the request body is not JSON: {e}") from e
    if not isinstance(parsed, dict):
        raise invalid("the request body must be a JSON object")
    return parsed


def qualifier(ref: FunctionRef, query: Mapping[str, str]) -> str | None:
    """The version a request names, in its FunctionName or its Qualifier; both must agree."""
    given = query.get("Qualifier")
    if ref.qualifier and given and ref.qualifier != given:
        raise invalid(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return ref.qualifier or given


def page(documents: list[dict[str, Any]], query: Mapping[str, str], key: str) -> dict[str, Any]:
    """One page of a listing, by its Marker and MaxItems."""
    try:
        start = int(query.get("Marker") or 0)
        size = int(query.get("MaxItems") or 50)
    except ValueError as e:
        raise invalid("Marker and MaxItems must be numbers") from e
    size = max(1, min(size, 10000))
    listing: dict[str, Any] = {key: documents[start : start + size]}
    if start + size < len(documents):
        listing["NextMarker"] = str(start + size)
    return listing


def apply_settings(
    settings: FunctionSettings,
    body: Mapping[str, Any],
    function_name: str,
    on_log: Callable[[str], None],
) -> FunctionSettings:
    """The configuration fields of a Create or UpdateFunctionConfiguration body."""
    changes: dict[str, Any] = {}
    if "Runtime" in body:
        changes["runtime"] = runtime(body["Runtime"])
    if "Handler" in body:
        handler = body["Handler"]
        if not isinstance(handler, str) or not re.fullmatch(r"[^\s]{1,128}", handler):
            raise invalid(f"Handler {handler!r} is not valid: expected module.function")
        changes["handler"] = handler
    if "Role" in body:
        changes["role"] = str(body["Role"])
    if "MemorySize" in body:
        changes["memory_mb"] = bounded(
            body["MemorySize"], "MemorySize", MIN_MEMORY_MB, MAX_MEMORY_MB
        )
    if "Timeout" in body:
        changes["timeout_s"] = bounded(body["Timeout"], "Timeout", 1, MAX_TIMEOUT_S)
    if "Description" in body:
        description = str(body["Description"])
        if len(description) > MAX_DESCRIPTION:
            raise invalid(f"Description must be at most {MAX_DESCRIPTION} characters")
        changes["description"] = description
    if "Environment" in body:
        changes["env"] = environment(body["Environment"])
    if "Architectures" in body:
        changes["architectures"] = architectures(body["Architectures"])
    if "Layers" in body:
        layers = body["Layers"]
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise invalid("Layers must be a list of layer version ARNs")
        changes["layers"] = tuple(layers)
        if layers:
            on_log(
                f"{function_name}: Layers accepted and ignored: the emulator runs the "
                "function's own zip only"
            )
    if "LoggingConfig" in body:
        changes.update(logging(body["LoggingConfig"], settings, function_name))
    if "PackageType" in body and body["PackageType"] != "Zip":
        raise invalid("PackageType Image is not supported by the emulator; use a Zip")
    return replace(settings, **changes) if changes else settings


def runtime(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"python3\.\d+", value):
        raise invalid(
            f"The runtime parameter of {value} is not supported by the emulator: it runs Python "
            "functions only (python3.x), on this machine's interpreter"
        )
    return value


def bounded(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer")
    if not low <= value <= high:
        raise invalid(
            f"1 validation error detected: Value '{value}' at '{name[0].lower() + name[1:]}' "
            f"failed to satisfy constraint: Member must have value "
            + (
                f"less than or equal to {high}"
                if value > high
                else f"greater than or equal to {low}"
            )
        )
    return value


def environment(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid("Environment must be an object with Variables")
    variables = value.get("Variables") or {}
    if not isinstance(variables, dict):
        raise invalid("Environment.Variables must be a map of strings")
    reserved = sorted(k for k in variables if k in RESERVED_ENV)
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    for key, text in variables.items():
        # Lambda's key pattern, from its API reference: [a-zA-Z]([a-zA-Z0-9_])+
        if not isinstance(key, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]+", key):
            raise invalid(f"Environment variable name {key!r} must match [a-zA-Z]([a-zA-Z0-9_])+")
        # Values are never echoed: they may be secrets.
        if not isinstance(text, str):
            raise invalid(f"Environment variable {key} must have a string value")
        if "\0" in text:
            raise invalid(f"Environment variable {key} has a NUL character in its value")
    result = dict(variables)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in result.items())
    if size > MAX_ENV_BYTES:
        raise invalid(
            f"Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {size} bytes"
        )
    return result


def architectures(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("x86_64", "arm64"):
        raise invalid('Architectures must be ["x86_64"] or ["arm64"]')
    return (str(value[0]),)


def logging(value: object, settings: FunctionSettings, function_name: str) -> dict[str, Any]:
    """The changes a LoggingConfig field makes to ``settings``."""
    if not isinstance(value, dict):
        raise invalid("LoggingConfig must be an object")
    changes: dict[str, Any] = {}
    log_format = value.get("LogFormat", settings.log_format)
    if log_format not in ("Text", "JSON"):
        raise invalid(f"LogFormat must be Text or JSON, not {log_format!r}")
    changes["log_format"] = log_format
    for key, attribute in (
        ("ApplicationLogLevel", "application_log_level"),
        ("SystemLogLevel", "system_log_level"),
    ):
        if key in value:
            level = value[key]
            if level not in LOG_LEVELS:
                raise invalid(f"{key} must be one of {', '.join(LOG_LEVELS)}")
            if log_format != "JSON":
                raise invalid(f"{key} requires LogFormat JSON")
            changes[attribute] = level
    if "LogGroup" in value:
        changes["log_group"] = str(value["LogGroup"]) or f"/aws/lambda/{function_name}"
    return changes


def client_context(value: str | None) -> str | None:
    """The X-Amz-Client-Context header decoded, or None; it must be base64 of JSON."""
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        json.loads(decoded)
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise invalid("Client context must be a valid Base64-encoded JSON object.") from e
    return decoded
