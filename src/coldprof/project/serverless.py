"""serverless.yml (Serverless Framework) → the Python functions it declares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coldprof.project.intrinsics import Resolver, scalar_text, stand_in_value
from coldprof.project.model import FunctionSpec, LayerSpec, Project, Skipped, StandIn
from coldprof.project.yamlload import load_template

DEFAULT_STAGE = "dev"  # the framework's own default
WSGI_HANDLER = "wsgi_handler.handler"
_VARIABLE_RE = re.compile(r"\$\{([^{}]*)\}")
_MAX_DEPTH = 10


class _Variables:
    """${self:...}, ${sls:stage}, ${opt:...}, ${env:...}, with `, default` fallbacks.

    ${env:X} is never read from the developer's shell: the function would get what happens to be
    set there. It takes its default, or a stand-in the report lists.
    """

    def __init__(self, data: Mapping[str, Any], overrides: Mapping[str, str]) -> None:
        self.data = data
        self.overrides = overrides
        provider = data.get("provider") if isinstance(data.get("provider"), Mapping) else {}
        stage: Any = overrides.get("stage") or (provider or {}).get("stage") or DEFAULT_STAGE
        self.stage = DEFAULT_STAGE  # while provider.stage itself is being resolved
        self.stage = scalar_text(self.text(stage, [])) or DEFAULT_STAGE

    def text(self, value: Any, reasons: list[str], depth: int = 0) -> Any:
        if not isinstance(value, str) or depth > _MAX_DEPTH:
            return value
        # Innermost first: `${opt:stage, ${self:custom.stage}}` resolves its inner variable,
        # then the outer one sees a plain default.
        for _ in range(_MAX_DEPTH):
            whole = _VARIABLE_RE.fullmatch(value.strip())
            if whole:  # a value that is one variable keeps its type (a map, a number)
                return self._one(whole.group(1), reasons, depth)
            replaced = _VARIABLE_RE.sub(
                lambda m: scalar_text(self._one(m.group(1), reasons, depth)), value
            )
            if replaced == value:
                break
            value = replaced
        return value

    def _one(self, expression: str, reasons: list[str], depth: int) -> Any:
        options = _split_fallbacks(expression)
        for option in options:
            found = self._lookup(option, depth, reasons)
            if found is not None:
                return found
        if len(options) > 1:
            last = options[-1].strip()
            # A default is quoted, or is what an inner variable already resolved to.
            literal = _literal(last) if ":" in last or not last else _literal(last) or last
            if literal is not None:
                return literal
        reasons.append("${" + expression + "} cannot be resolved offline")
        return stand_in_value(options[0].split(":", 1)[-1])

    def _lookup(self, option: str, depth: int, reasons: list[str]) -> Any:
        option = option.strip()
        if _literal(option) is not None:
            return None  # a literal default is taken only after every source failed
        source, _, rest = option.partition(":")
        if source == "self":
            node: Any = self.data
            for part in rest.split(".") if rest else []:
                if not isinstance(node, Mapping) or part not in node:
                    return None
                node = node[part]
            return self.text(node, reasons, depth + 1)
        if option in ("sls:stage", "self:provider.stage"):
            return self.stage  # the effective stage, declared or not
        if source == "opt":
            return self.overrides.get(rest)
        if source == "sls" and rest == "instanceId":
            return stand_in_value("instanceId")
        if source == "aws" and rest == "region":
            return self.overrides.get("region")
        return None  # env, ssm, cf, s3, file(...): not resolved offline


def _split_fallbacks(expression: str) -> list[str]:
    """`self:custom.x, 'dev'` → ["self:custom.x", "'dev'"], commas inside quotes kept."""
    parts, current, quote = [], "", ""
    for char in expression:
        if char in "'\"" and (not quote or quote == char):
            quote = "" if quote else char
        if char == "," and not quote:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def _literal(option: str) -> str | None:
    option = option.strip()
    if len(option) >= 2 and option[0] == option[-1] and option[0] in "'\"":
        return option[1:-1]
    if re.fullmatch(r"-?\d+(\.\d+)?|true|false", option):
        return option
    return None


def load(path: Path, parameters: Mapping[str, str] | None = None) -> Project:
    data = load_template(path)
    overrides = dict(parameters or {})
    variables = _Variables(data, overrides)
    resolver = Resolver(data.get("resources") or {}, {})
    provider = data.get("provider") if isinstance(data.get("provider"), Mapping) else {}
    provider = provider or {}
    root = path.parent.resolve()
    requirements = root / "requirements.txt"
    custom = data.get("custom") if isinstance(data.get("custom"), Mapping) else {}
    wsgi = (custom or {}).get("wsgi")
    wsgi_app = wsgi.get("app") if isinstance(wsgi, Mapping) else None
    layer_dirs = _layers(data.get("layers"), root, variables)
    functions: list[FunctionSpec] = []
    skipped: list[Skipped] = []
    declared = data.get("functions")
    for name, fn in declared.items() if isinstance(declared, Mapping) else ():
        name = str(name)
        if not isinstance(fn, Mapping):
            skipped.append(Skipped(name, "not a mapping in functions:"))
            continue
        reasons: list[str] = []
        runtime = variables.text(fn.get("runtime") or provider.get("runtime"), reasons)
        runtime = scalar_text(runtime) if runtime is not None else None
        if runtime and not runtime.startswith("python"):
            skipped.append(Skipped(name, f"runtime {runtime}, not Python"))
            continue
        if fn.get("image"):
            skipped.append(Skipped(name, "a container image function (image:)"))
            continue
        handler = scalar_text(variables.text(fn.get("handler"), reasons))
        if "." not in handler:
            skipped.append(Skipped(name, "no handler of the form path/module.function"))
            continue
        notes: list[str] = []
        if handler == WSGI_HANDLER and isinstance(wsgi_app, str) and "." in wsgi_app:
            notes.append(
                f"serverless-wsgi: analyzing the app custom.wsgi.app names ({wsgi_app}); "
                "the wsgi_handler it adds at deploy is not measured"
            )
            handler = wsgi_app
        module_dir = fn.get("module")
        code_dir = root / str(module_dir) if isinstance(module_dir, str) else root
        env, stand_ins = _environment(
            provider.get("environment"), fn.get("environment"), variables, resolver
        )
        layers = [
            _layer_ref(entry, layer_dirs, variables, resolver)
            for entry in fn.get("layers") or provider.get("layers") or []
        ]
        architecture = variables.text(fn.get("architecture") or provider.get("architecture"), [])
        functions.append(
            FunctionSpec(
                logical_id=name,
                handler=handler,
                code_dir=code_dir,
                template=path,
                source_format="serverless",
                runtime=runtime,
                architecture=scalar_text(architecture) if architecture else None,
                memory_mb=_number(fn.get("memorySize") or provider.get("memorySize"), variables),
                timeout_s=_number(fn.get("timeout") or provider.get("timeout"), variables),
                environment=env,
                stand_ins=stand_ins,
                layers=tuple(layers),
                requirements=requirements
                if requirements.is_file() and not (code_dir / "requirements.txt").is_file()
                else None,
                notes=tuple(notes),
            )
        )
    return Project(path, "serverless", tuple(functions), tuple(skipped))


def _number(node: Any, variables: _Variables) -> Any:
    value = variables.text(node, [])
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _environment(
    provider_env: Any, function_env: Any, variables: _Variables, resolver: Resolver
) -> tuple[dict[str, str], tuple[StandIn, ...]]:
    merged: dict[str, Any] = {}
    for block in (provider_env, function_env):  # the function's own values win
        if isinstance(block, str):
            reasons: list[str] = []
            block = variables.text(block, reasons)  # `environment: ${file(env.yml)}` and such
        if isinstance(block, Mapping):
            merged.update(block)
    environment: dict[str, str] = {}
    stand_ins: list[StandIn] = []
    for name, node in merged.items():
        reasons = []
        value = variables.text(node, reasons)
        text, cfn_reasons = resolver.text(value)  # !Ref, Fn::GetAtt on the service's resources
        if text is None:
            continue
        environment[str(name)] = text
        all_reasons = reasons + cfn_reasons
        if all_reasons:
            stand_ins.append(StandIn(str(name), text, "; ".join(dict.fromkeys(all_reasons))))
    return environment, tuple(stand_ins)


def _layers(node: Any, root: Path, variables: _Variables) -> dict[str, Path]:
    """The service's own layers, by the CloudFormation name functions reference them with."""
    found: dict[str, Path] = {}
    for name, layer in node.items() if isinstance(node, Mapping) else ():
        location = layer.get("path") if isinstance(layer, Mapping) else None
        location = variables.text(location, []) if location is not None else None
        if isinstance(location, str) and (root / location).is_dir():
            # The framework names layer `my-deps` MyDashdepsLambdaLayer; simple names TitleCase.
            logical = _title(str(name)) + "LambdaLayer"
            found[logical] = (root / location).resolve()
            found[str(name)] = found[logical]
    return found


def _title(name: str) -> str:
    name = name.replace("-", "Dash").replace("_", "Underscore")
    return name[:1].upper() + name[1:]


def _layer_ref(
    entry: Any, layer_dirs: Mapping[str, Path], variables: _Variables, resolver: Resolver
) -> LayerSpec:
    ref = entry.get("Ref") if isinstance(entry, Mapping) and len(entry) == 1 else None
    if isinstance(ref, str) and ref in layer_dirs:
        return LayerSpec(name=ref, content_dir=layer_dirs[ref])
    value = variables.text(entry, [])
    text, _ = resolver.text(value)
    return LayerSpec(name=text or "a layer", arn=text or None)
