"""Read a template (YAML with CloudFormation's short-form tags, or JSON) into plain data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coldprof.errors import UsageError

# `!Ref X` and `!Condition X` keep their long names; every other short form `!Name` is `Fn::Name`.
_UNPREFIXED = {"Ref", "Condition"}


def _tag_constructor(loader: Any, tag_suffix: str, node: Any) -> dict[str, Any]:
    import yaml

    name = tag_suffix if tag_suffix in _UNPREFIXED else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            # `!GetAtt Table.Arn` is the short form of `Fn::GetAtt: [Table, Arn]`.
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


def _loader() -> type:
    import yaml

    # PyYAML ships no type information, so its classes are Any to mypy.
    class TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
        """SafeLoader that reads `!Ref`, `!Sub`, `!GetAtt`... as their long forms."""

    TemplateLoader.add_multi_constructor("!", _tag_constructor)
    # Dates stay text: `AWSTemplateFormatVersion: 2010-09-09` is a string to CloudFormation.
    TemplateLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return TemplateLoader


def load_template(path: Path) -> dict[str, Any]:
    """The template's top-level mapping; a clear one-line error when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot be read ({e})") from e
    return parse_template(text, path)


def parse_template(text: str, path: Path) -> dict[str, Any]:
    import yaml

    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from e
    else:
        try:
            data = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise UsageError(f"{path}: {where}not valid YAML ({problem})") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping at the top, found {type(data).__name__}")
    return data
