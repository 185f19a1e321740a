"""A template's local layers, built as `sam build` does and laid out as Lambda's /opt."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from coldprof.build.cache import cache_root
from coldprof.build.dependencies import BuildTarget
from coldprof.build.handler import FunctionSource, unpacked_asset
from coldprof.build.package import build_package
from coldprof.errors import UsageError
from coldprof.project import FunctionSpec, LayerSpec


def build_layer(
    layer: LayerSpec, cache: Path | None = None, target: BuildTarget | None = None
) -> Path:
    """A folder to use as /opt: the layer's content under python/, its requirements.txt (if
    any) installed there. Content already holding python/ is used as it is."""
    if layer.content_dir is None:
        raise UsageError(f"layer {layer.short_name} is an ARN: it cannot be built here")
    content = unpacked_asset(layer.content_dir, cache)
    if (content / "python").is_dir():
        return content
    target = target or BuildTarget()
    python_dir: Path = content
    if (content / "requirements.txt").is_file():
        # The same build as a function's: pip into a cached folder, the layer's files laid over.
        python_dir = build_package(
            FunctionSource(content, "layer.layer", "layer"), target=target, cache=cache
        )
    key = hashlib.sha256(f"{content}\0{target.key}".encode()).hexdigest()[:16]
    opt = (cache or cache_root()) / "layers" / f"{layer.name[:40]}-{key}"
    link = opt / "python"
    opt.mkdir(parents=True, exist_ok=True)
    if not (link.is_symlink() and os.readlink(link) == str(python_dir)):
        # A symlink, not a copy: Python keeps the path it was given, so modules are attributed
        # to the layer, and the user's files are read where they are (never written).
        staging = opt / f".python-{os.getpid()}"
        staging.unlink(missing_ok=True)
        staging.symlink_to(python_dir, target_is_directory=True)
        os.replace(staging, link)
    return opt


def project_layers(
    spec: FunctionSpec, cache: Path | None = None, target: BuildTarget | None = None
) -> list[Path]:
    """The /opt folders of a function's local layers, in the template's order."""
    return [build_layer(layer, cache, target) for layer in spec.local_layers]


def missing_layer_hint(spec: FunctionSpec | None, failure_text: str) -> str | None:
    """When init failed on a missing module and the template names layers given by ARN."""
    if spec is None or not spec.arn_layers:
        return None
    if "No module named" not in failure_text and "ModuleNotFoundError" not in failure_text:
        return None
    arns: Sequence[LayerSpec] = spec.arn_layers
    named = ", ".join(layer.short_name for layer in arns)
    return (
        f"the template gives {spec.logical_id} the layer{'s' if len(arns) > 1 else ''} {named} "
        "by ARN, which cannot be fetched offline: pass its content with --layer DIR"
    )
