"""The JSON form of a frozen record: its fields by name, in the order the saved files use."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# What json.dumps writes for a result: the saved files' contract.
JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
JSONObject: TypeAlias = "dict[str, JSONValue]"


@runtime_checkable
class Record(Protocol):
    """A record with a JSON form of its own (nested records are written by theirs)."""

    def to_dict(self) -> JSONObject: ...


def encode(value: object) -> JSONValue:
    """A field's JSON value: records by their own form, tuples as lists, enums by value."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [encode(item) for item in value]
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"no JSON form for {type(value).__name__}")


def fields_dict(
    record: DataclassInstance, keys: Iterable[str] | None = None, **computed: JSONValue
) -> JSONObject:
    """``record``'s fields as JSON, in the order of ``keys`` (default: as declared).

    ``computed`` holds the keys that are not plain fields (an interval worked out from samples)
    or that a field writes in another shape; they keep their place in ``keys``.
    """
    names = keys if keys is not None else [f.name for f in dataclasses.fields(record)]
    return {
        name: computed[name] if name in computed else encode(getattr(record, name))
        for name in names
    }


def pair(interval: tuple[float, float] | None) -> list[JSONValue] | None:
    """An interval as saved: two bounds rounded to the microsecond, or null."""
    return None if interval is None else [round(interval[0], 3), round(interval[1], 3)]


def optional_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else float(value)


def optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return None if value is None else int(value)
