"""The records project discovery returns: functions, their layers, and stand-in values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STAND_IN_PREFIX = "coldprof-stand-in-"


@dataclass(frozen=True)
class StandIn:
    """An environment variable whose value cannot be known offline, and what it stands for."""

    variable: str
    value: str  # the visible stand-in the function gets
    reason: str  # e.g. "!GetAtt Table.Arn", "parameter TableName has no default"


@dataclass(frozen=True)
class LayerSpec:
    """A layer the template gives the function: a local folder to build, or an ARN."""

    name: str  # logical id (or serverless layer name), or the ARN
    content_dir: Path | None = None  # local content (a folder, or a zipped asset); None: an ARN
    arn: str | None = None

    @property
    def short_name(self) -> str:
        """`AWSLambdaPowertoolsPythonV3-python312-x86_64:7` for an ARN; the name otherwise."""
        if self.arn and ":layer:" in self.arn:
            return self.arn.split(":layer:", 1)[1]
        return self.name


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the template declares it, with what can be resolved offline."""

    logical_id: str
    handler: str
    code_dir: Path  # a folder; for a zipped CDK asset, the zip (unpacked into the cache on use)
    template: Path
    source_format: str  # "sam", "cloudformation", "cdk" or "serverless"
    # What the template declares; None where it says nothing. `runtime` is for choosing the
    # interpreter (python3.12...); coldprof measures with its own unless told otherwise.
    runtime: str | None = None
    architecture: str | None = None
    memory_mb: int | None = None
    timeout_s: float | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    stand_ins: tuple[StandIn, ...] = ()
    layers: tuple[LayerSpec, ...] = ()
    # serverless-python-requirements installs the service root's requirements.txt for every
    # function; None: the code folder's own requirements.txt, as sam build does.
    requirements: Path | None = None
    notes: tuple[str, ...] = ()

    @property
    def arn_layers(self) -> tuple[LayerSpec, ...]:
        return tuple(layer for layer in self.layers if layer.content_dir is None)

    @property
    def local_layers(self) -> tuple[LayerSpec, ...]:
        return tuple(layer for layer in self.layers if layer.content_dir is not None)


@dataclass(frozen=True)
class Skipped:
    """A function the project declares that coldprof cannot analyze, and why."""

    logical_id: str
    reason: str


@dataclass(frozen=True)
class Project:
    """A template and the Python functions it declares."""

    template: Path
    source_format: str
    functions: tuple[FunctionSpec, ...]
    skipped: tuple[Skipped, ...] = ()

    @property
    def root(self) -> Path:
        return self.template.parent

    def ids(self) -> list[str]:
        return [f.logical_id for f in self.functions]
