"""SAM, CloudFormation and CDK (cdk.out) templates → the Python functions they declare."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coldprof.project.intrinsics import Resolver, scalar_text
from coldprof.project.model import FunctionSpec, LayerSpec, Project, Skipped, StandIn
from coldprof.project.yamlload import load_template

SAM_FUNCTION = "AWS::Serverless::Function"
CFN_FUNCTION = "AWS::Lambda::Function"
SAM_LAYER = "AWS::Serverless::LayerVersion"
CFN_LAYER = "AWS::Lambda::LayerVersion"
ASSET_PATH = "aws:asset:path"  # CDK: the asset folder a resource's code comes from


def load(
    template: Path, parameters: Mapping[str, str] | None = None, source_format: str | None = None
) -> Project:
    """Every function of one template; those coldprof cannot analyze are listed as skipped."""
    data = load_template(template)
    resources = data.get("Resources")
    if not isinstance(resources, Mapping):
        resources = {}
    fmt = source_format or ("sam" if _is_sam(data) else "cloudformation")
    resolver = Resolver(data, parameters or {})
    globals_ = data.get("Globals") or {}
    global_function = globals_.get("Function") if isinstance(globals_, Mapping) else None
    functions: list[FunctionSpec] = []
    skipped: list[Skipped] = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        if kind not in (SAM_FUNCTION, CFN_FUNCTION):
            continue
        properties = resource.get("Properties") or {}
        if kind == SAM_FUNCTION and isinstance(global_function, Mapping):
            properties = merge_globals(global_function, properties)
        spec = _function(
            str(logical_id), kind, properties, resource, template, fmt, resolver, resources
        )
        if isinstance(spec, Skipped):
            skipped.append(spec)
        else:
            functions.append(spec)
    return Project(template, fmt, tuple(functions), tuple(skipped))


def _is_sam(data: Mapping[str, Any]) -> bool:
    transform = data.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return any(isinstance(t, str) and t.startswith("AWS::Serverless") for t in transforms)


# Lists the function's own value replaces: a function runs on one architecture, so SAM's
# concatenation would give it two (aws/serverless-application-model#3939).
_REPLACED_LISTS = {"Architectures"}


def merge_globals(global_props: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's rules: the function's scalars win, maps merge (the function's keys win), lists
    add up with the global entries first."""
    merged: dict[str, Any] = dict(global_props)
    for key, value in props.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list) and key not in _REPLACED_LISTS:
            merged[key] = [*base, *value]
        else:
            merged[key] = value
    return merged


def _function(
    logical_id: str,
    kind: str,
    props: Mapping[str, Any],
    resource: Mapping[str, Any],
    template: Path,
    fmt: str,
    resolver: Resolver,
    resources: Mapping[str, Any],
) -> FunctionSpec | Skipped:
    reasons: list[str] = []
    package_type = scalar_text(resolver.resolve(props.get("PackageType", "Zip"), reasons))
    if package_type == "Image":
        return Skipped(logical_id, "a container image function (PackageType: Image)")
    runtime_value = resolver.resolve(props.get("Runtime"), reasons)
    runtime = scalar_text(runtime_value) if runtime_value is not None else None
    if runtime and not runtime.startswith("python"):
        return Skipped(logical_id, f"runtime {runtime}, not Python")
    handler = scalar_text(resolver.resolve(props.get("Handler"), reasons))
    if not handler or "." not in handler:
        return Skipped(logical_id, "no Handler of the form module.function")
    code_dir = _code_dir(kind, props, resource, template, resolver)
    if isinstance(code_dir, str):
        return Skipped(logical_id, code_dir)
    environment, stand_ins = _environment(props, resolver)
    layers, layer_notes = _layers(props.get("Layers"), template, resolver, resources)
    architectures = resolver.resolve(props.get("Architectures"), reasons)
    architecture = (
        scalar_text(architectures[0]) if isinstance(architectures, list) and architectures else None
    )
    return FunctionSpec(
        logical_id=logical_id,
        handler=handler,
        code_dir=code_dir,
        template=template,
        source_format=fmt,
        runtime=runtime,
        architecture=architecture,
        memory_mb=_number(resolver, props.get("MemorySize"), int),
        timeout_s=_number(resolver, props.get("Timeout"), float),
        environment=environment,
        stand_ins=stand_ins,
        layers=layers,
        notes=tuple(layer_notes),
    )


def _number(resolver: Resolver, node: Any, kind: type) -> Any:
    if node is None:
        return None
    text, _ = resolver.text(node)
    try:
        return kind(float(text)) if text else None
    except ValueError:
        return None


def _code_dir(
    kind: str,
    props: Mapping[str, Any],
    resource: Mapping[str, Any],
    template: Path,
    resolver: Resolver,
) -> Path | str:
    """The folder the code comes from, or why there is none on this disk."""
    metadata = resource.get("Metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get(ASSET_PATH), str):
        return _existing(template.parent / metadata[ASSET_PATH], "the CDK asset")
    if "InlineCode" in props or (
        isinstance(props.get("Code"), Mapping) and "ZipFile" in props["Code"]
    ):
        return "inline code in the template"
    location = props.get("CodeUri") if kind == SAM_FUNCTION else props.get("Code")
    if location is None:
        return template.parent if kind == SAM_FUNCTION else "no Code in the template"
    value = resolver.resolve(location, [])
    if isinstance(value, str) and "://" not in value:
        return _existing(template.parent / value, "CodeUri" if kind == SAM_FUNCTION else "Code")
    return "code in S3, not on this disk (point coldprof at the source folder and --handler)"


def _existing(path: Path, what: str) -> Path | str:
    """The folder (or, for a CDK asset, the zip: cdk.out holds some assets zipped)."""
    if path.is_dir() or (path.suffix == ".zip" and path.is_file()):
        return path.resolve()
    return f"{what} {path} is not a folder on this disk"


def _environment(
    props: Mapping[str, Any], resolver: Resolver
) -> tuple[dict[str, str], tuple[StandIn, ...]]:
    env_block = props.get("Environment")
    variables = env_block.get("Variables") if isinstance(env_block, Mapping) else None
    environment: dict[str, str] = {}
    stand_ins: list[StandIn] = []
    for name, node in (variables or {}).items() if isinstance(variables, Mapping) else ():
        text, reasons = resolver.text(node)
        if text is None:
            continue  # AWS::NoValue: the variable is not set
        environment[str(name)] = text
        if reasons:
            stand_ins.append(StandIn(str(name), text, "; ".join(dict.fromkeys(reasons))))
    return environment, tuple(stand_ins)


def _layers(
    node: Any, template: Path, resolver: Resolver, resources: Mapping[str, Any]
) -> tuple[tuple[LayerSpec, ...], list[str]]:
    """Local layers by their logical id; anything else must be an ARN."""
    layers: list[LayerSpec] = []
    notes: list[str] = []
    for entry in node if isinstance(node, list) else []:
        ref = entry.get("Ref") if isinstance(entry, Mapping) and len(entry) == 1 else None
        if isinstance(ref, str) and isinstance(resources.get(ref), Mapping):
            local = _local_layer(ref, resources[ref], template, resolver)
            if isinstance(local, LayerSpec):
                layers.append(local)
            else:
                notes.append(f"layer {ref}: {local}")
            continue
        reasons: list[str] = []
        value = resolver.resolve(entry, reasons)
        if isinstance(value, str) and value.startswith("arn:") and not reasons:
            layers.append(LayerSpec(name=value, arn=value))
        else:
            label = value if isinstance(value, str) else "a layer"
            layers.append(LayerSpec(name=str(label), arn=str(label)))
    return tuple(layers), notes


def _local_layer(
    logical_id: str, resource: Mapping[str, Any], template: Path, resolver: Resolver
) -> LayerSpec | str:
    kind = resource.get("Type")
    props = resource.get("Properties") or {}
    metadata = resource.get("Metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get(ASSET_PATH), str):
        location: Any = metadata[ASSET_PATH]
    elif kind == SAM_LAYER:
        location = resolver.resolve(props.get("ContentUri"), [])
    elif kind == CFN_LAYER:
        location = resolver.resolve(props.get("Content"), [])
    else:
        return f"{kind} is not a layer"
    if not isinstance(location, str) or "://" in location:
        return "its content is not on this disk"
    folder = _existing(template.parent / location, "its content")
    if isinstance(folder, str):
        return folder
    return LayerSpec(name=logical_id, content_dir=folder)
