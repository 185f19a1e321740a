"""CloudFormation intrinsics, resolved offline as far as they can be; stand-ins for the rest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coldprof.lambda_facts import DEFAULT_REGION
from coldprof.project.model import STAND_IN_PREFIX
from coldprof.runner.spec import DEFAULT_ACCOUNT

# Pseudo parameters with the values coldprof's local environment already uses.
PSEUDO_PARAMETERS = {
    "AWS::Region": DEFAULT_REGION,
    "AWS::AccountId": DEFAULT_ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()  # AWS::NoValue: the property is left out
_SUB_RE = re.compile(r"\$\{([^}]*)\}")


def stand_in_value(name: str) -> str:
    return STAND_IN_PREFIX + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


class Resolver:
    """Resolves values of one template: parameters (defaults, then overrides), mappings,
    conditions, pseudo parameters. What only a deployed stack knows becomes a stand-in, and
    each resolution notes why, so the report can list them."""

    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, str]) -> None:
        self.template = template
        params = template.get("Parameters") or {}
        self.parameters: dict[str, str | None] = {}
        for name, decl in params.items() if isinstance(params, Mapping) else ():
            default = decl.get("Default") if isinstance(decl, Mapping) else None
            self.parameters[name] = None if default is None else scalar_text(default)
        self.parameters.update(overrides)
        resources = template.get("Resources") or {}
        self.resources = set(resources) if isinstance(resources, Mapping) else set()
        mappings = template.get("Mappings") or {}
        self.mappings = mappings if isinstance(mappings, Mapping) else {}
        conditions = template.get("Conditions") or {}
        self.conditions = conditions if isinstance(conditions, Mapping) else {}
        self.stack_name = "coldprof-stack"

    # -- public ---------------------------------------------------------------------------------
    def text(self, node: Any) -> tuple[str | None, list[str]]:
        """A value as the text Lambda would see (None for AWS::NoValue), and the stand-in
        reasons it needed."""
        reasons: list[str] = []
        value = self.resolve(node, reasons)
        if value is NO_VALUE:
            return None, reasons
        if isinstance(value, list):
            return ",".join(scalar_text(v) for v in value), reasons
        return scalar_text(value), reasons

    def resolve(self, node: Any, reasons: list[str]) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item, reasons) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg, reasons)
            if key.startswith("Fn::"):
                reasons.append(f"{key} cannot be resolved offline")
                return stand_in_value(key.removeprefix("Fn::"))
        resolved = {k: self.resolve(v, reasons) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    # -- the functions --------------------------------------------------------------------------
    def ref(self, name: Any, reasons: list[str]) -> Any:
        name = scalar_text(self.resolve(name, reasons))
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name == "AWS::StackName":
            return self.stack_name
        if name in self.parameters:
            value = self.parameters[name]
            if value is not None:
                return value
            reasons.append(f"parameter {name} has no default (give it with --parameter)")
            return stand_in_value(name)
        if name in self.resources:
            reasons.append(f"!Ref {name}")
        else:
            reasons.append(f"!Ref {name}: not declared in the template")
        return stand_in_value(name)

    def get_att(self, arg: Any, reasons: list[str]) -> Any:
        parts = self.resolve(arg, reasons)
        if isinstance(parts, str):
            parts = parts.split(".", 1)
        label = ".".join(scalar_text(p) for p in parts) if isinstance(parts, list) else "?"
        reasons.append(f"!GetAtt {label}")
        return stand_in_value(label.replace(".", "-"))

    def sub(self, arg: Any, reasons: list[str]) -> Any:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, list) and arg:
            text = arg[0]
            if len(arg) > 1 and isinstance(arg[1], Mapping):
                variables = arg[1]
        else:
            text = arg
        if not isinstance(text, str):
            reasons.append("!Sub of something that is not a string")
            return stand_in_value("Sub")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} writes ${Literal}
            if name in variables:
                return scalar_text(self.resolve(variables[name], reasons))
            if "." in name and name.split(".", 1)[0] in self.resources:
                return scalar_text(self.get_att(name.split(".", 1), reasons))
            return scalar_text(self.ref(name, reasons))

        return _SUB_RE.sub(substitute, text)

    def join(self, arg: Any, reasons: list[str]) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            reasons.append("!Join that is not [delimiter, [values]]")
            return stand_in_value("Join")
        delimiter, values = arg
        values = self.resolve(values, reasons)
        if not isinstance(values, list):
            values = [values]
        return scalar_text(delimiter).join(scalar_text(v) for v in values)

    def select(self, arg: Any, reasons: list[str]) -> Any:
        try:
            index, values = arg
            values = self.resolve(values, reasons)
            return values[int(scalar_text(self.resolve(index, reasons)))]
        except (TypeError, ValueError, IndexError, KeyError):
            reasons.append("!Select out of range or not a list")
            return stand_in_value("Select")

    def split(self, arg: Any, reasons: list[str]) -> Any:
        try:
            delimiter, text = arg
        except (TypeError, ValueError):
            reasons.append("!Split that is not [delimiter, text]")
            return [stand_in_value("Split")]
        return scalar_text(self.resolve(text, reasons)).split(scalar_text(delimiter))

    def find_in_map(self, arg: Any, reasons: list[str]) -> Any:
        try:
            name, top, second = (scalar_text(self.resolve(a, reasons)) for a in arg[:3])
            return self.resolve(self.mappings[name][top][second], reasons)
        except (TypeError, ValueError, KeyError):
            reasons.append("!FindInMap of an entry the Mappings lack")
            return stand_in_value("FindInMap")

    def if_(self, arg: Any, reasons: list[str]) -> Any:
        try:
            condition, when_true, when_false = arg
        except (TypeError, ValueError):
            reasons.append("!If that is not [condition, value, value]")
            return stand_in_value("If")
        chosen = when_true if self.condition(condition, reasons) else when_false
        return self.resolve(chosen, reasons)

    def condition(self, name: Any, reasons: list[str], depth: int = 0) -> bool:
        node = self.conditions.get(scalar_text(name)) if isinstance(name, str) else name
        return self._truth(node, reasons, depth)

    def _truth(self, node: Any, reasons: list[str], depth: int) -> bool:
        if depth > 20 or not isinstance(node, Mapping) or len(node) != 1:
            return bool(node)
        (key, arg), = node.items()
        if key == "Condition":
            return self.condition(arg, reasons, depth + 1)
        if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = (scalar_text(self.resolve(a, reasons)) for a in arg)
            return left == right
        if key == "Fn::Not" and isinstance(arg, list) and arg:
            return not self._truth(arg[0], reasons, depth + 1)
        if key == "Fn::And" and isinstance(arg, list):
            return all(self._truth(a, reasons, depth + 1) for a in arg)
        if key == "Fn::Or" and isinstance(arg, list):
            return any(self._truth(a, reasons, depth + 1) for a in arg)
        return bool(self.resolve(node, reasons))

    def import_value(self, arg: Any, reasons: list[str]) -> Any:
        name = scalar_text(self.resolve(arg, reasons))
        reasons.append(f"!ImportValue {name}")
        return stand_in_value(name)

    def base64(self, arg: Any, reasons: list[str]) -> Any:
        import base64

        return base64.b64encode(scalar_text(self.resolve(arg, reasons)).encode()).decode()

    def get_azs(self, arg: Any, reasons: list[str]) -> Any:
        region = scalar_text(self.resolve(arg, reasons)) or DEFAULT_REGION
        return [f"{region}a", f"{region}b", f"{region}c"]


_FUNCTIONS = {
    "Ref": Resolver.ref,
    "Fn::GetAtt": Resolver.get_att,
    "Fn::Sub": Resolver.sub,
    "Fn::Join": Resolver.join,
    "Fn::Select": Resolver.select,
    "Fn::Split": Resolver.split,
    "Fn::FindInMap": Resolver.find_in_map,
    "Fn::If": Resolver.if_,
    "Fn::ImportValue": Resolver.import_value,
    "Fn::Base64": Resolver.base64,
    "Fn::GetAZs": Resolver.get_azs,
}


def scalar_text(value: Any) -> str:
    """How CloudFormation writes a scalar into a string property: booleans in lower case."""
    if value is NO_VALUE or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return stand_in_value("complex-value")
    return str(value)
