"""Tests for coldprof.emulator.fields: request fields read, or refused as Lambda refuses them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from coldprof.emulator import fields
from coldprof.emulator.registry import CodePackage, FunctionRef, FunctionSettings
from coldprof.emulator.responses import ApiError

BASE = FunctionSettings(
    "python3.12", "app.handler", "", CodePackage(Path("/t"), Path("/z"), "s", 1, 1)
)


def _refused(call: Any, *args: Any) -> str:
    with pytest.raises(ApiError) as refused:
        call(*args)
    assert refused.value.code == "InvalidParameterValueException"
    return refused.value.message


def test_apply_settings_reads_each_field_and_leaves_the_rest() -> None:
    notes: list[str] = []
    settings = fields.apply_settings(
        BASE,
        {
            "MemorySize": 1769,
            "Timeout": 900,
            "Environment": {"Variables": {"KEY": "v"}},
            "Layers": ["arn:layer"],
            "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "ERROR"},
        },
        "fn",
        notes.append,
    )
    assert (settings.memory_mb, settings.timeout_s) == (1769, 900)
    assert settings.env == {"KEY": "v"} and settings.layers == ("arn:layer",)
    assert (settings.log_format, settings.application_log_level) == ("JSON", "ERROR")
    assert settings.handler == BASE.handler and settings.revision_id == BASE.revision_id
    assert notes == [
        "fn: Layers accepted and ignored: the emulator runs the function's own zip only"
    ]
    assert fields.apply_settings(BASE, {}, "fn", notes.append) is BASE


def test_bounds_are_reported_in_lambdas_words() -> None:
    assert fields.bounded(128, "MemorySize", 128, 10240) == 128
    assert _refused(fields.bounded, 127, "MemorySize", 128, 10240).endswith(
        "Value '127' at 'memorySize' failed to satisfy constraint: Member must have value "
        "greater than or equal to 128"
    )
    assert "less than or equal to 900" in _refused(fields.bounded, 901, "Timeout", 1, 900)
    assert _refused(fields.bounded, True, "Timeout", 1, 900) == "Timeout must be an integer"


def test_environment_checks_names_values_and_size_without_echoing_values() -> None:
    assert fields.environment({"Variables": None}) == {}
    assert fields.environment({"Variables": {"A1": "x"}}) == {"A1": "x"}
    message = _refused(fields.environment, {"Variables": {"AWS_REGION": "x", "_HANDLER": "y"}})
    assert message.endswith("Reserved keys used in this request: AWS_REGION, _HANDLER")
    secret = "s3cr3t\0"
    assert secret not in _refused(fields.environment, {"Variables": {"PASSWORD": secret}})
    big = {"Variables": {"K" + str(i): "x" * 100 for i in range(40)}}
    assert "exceeded the 4KB limit" in _refused(fields.environment, big)


def test_logging_levels_need_the_json_format() -> None:
    assert fields.logging({"LogGroup": ""}, BASE, "fn") == {
        "log_format": "Text",
        "log_group": "/aws/lambda/fn",
    }
    assert "requires LogFormat JSON" in _refused(
        fields.logging, {"SystemLogLevel": "WARN"}, BASE, "fn"
    )


def test_qualifier_and_paging() -> None:
    assert fields.qualifier(FunctionRef("fn", "2"), {}) == "2"
    assert fields.qualifier(FunctionRef("fn"), {"Qualifier": "3"}) == "3"
    assert fields.qualifier(FunctionRef("fn", "3"), {"Qualifier": "3"}) == "3"
    assert "does not match" in _refused(
        fields.qualifier, FunctionRef("fn", "2"), {"Qualifier": "3"}
    )
    documents = [{"n": i} for i in range(5)]
    assert fields.page(documents, {"MaxItems": "2"}, "Items") == {
        "Items": documents[:2],
        "NextMarker": "2",
    }
    assert fields.page(documents, {"Marker": "4"}, "Items") == {"Items": documents[4:]}
    assert "Marker" in _refused(fields.page, documents, {"MaxItems": "two"}, "Items")


def test_client_context_is_base64_json() -> None:
    encoded = base64.b64encode(b'{"custom": {"a": 1}}').decode()
    assert fields.client_context(encoded) == '{"custom": {"a": 1}}'
    assert fields.client_context(None) is None
    assert "Client context" in _refused(fields.client_context, base64.b64encode(b"nope").decode())


def test_a_body_must_be_a_json_object() -> None:
    assert fields.json_body(b"  ") == {}
    assert fields.json_body(b'{"a": 1}') == {"a": 1}
    assert "not JSON" in _refused(fields.json_body, b"{")
    assert "JSON object" in _refused(fields.json_body, b"[]")
