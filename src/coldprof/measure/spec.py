"""The one builder of the environment spec a function's cold starts run in, and its interpreter."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

from coldprof import lambda_facts
from coldprof.build.dependencies import BuildTarget
from coldprof.build.handler import FunctionSource
from coldprof.runner import interpreter
from coldprof.runner.spec import EnvironmentSpec


def environment_spec(
    source: FunctionSource,
    task_root: Path,
    python: interpreter.Interpreter,
    runtime_dir: Path,
    layers: Sequence[Path],
    env: Mapping[str, str],
    init_limit_s: float,
) -> EnvironmentSpec:
    """The spec of every cold start of an analyze: timed, bytecode, traced, advisor, py-spy.

    Layers are made absolute here: the child runs from the task root, where a relative path
    would name another folder. The template's environment comes first; ``env`` (--env)
    overrides it.
    """
    declared_env = dict(source.spec.environment) if source.spec is not None else {}
    return EnvironmentSpec(
        handler=source.handler,
        task_root=task_root,
        runtime_dir=runtime_dir,
        layers=tuple(Path(os.path.abspath(layer)) for layer in layers),
        python=python.path,
        python_version=python.minor,
        user_env={**declared_env, **env},
        importtime=True,
        merge_stderr=False,
        init_limit_s=init_limit_s,
    )


def machine_architecture() -> str:
    """This machine's architecture, named as Lambda names them."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def build_target(
    architecture: str, python: interpreter.Interpreter, installer: str = "auto"
) -> BuildTarget:
    """What a package is built for: Lambda's platform tags and the function's Python."""
    return BuildTarget(
        platform=lambda_facts.PLATFORM_TAGS[architecture],
        python_version=python.minor,
        python=python.path,
        installer=installer,
    )


def declared_runtime(source: FunctionSource) -> tuple[str, str] | None:
    """(Runtime, the template that declares it), when the function's template names one."""
    spec = source.spec
    if spec is None or not spec.runtime:
        return None
    return spec.runtime, spec.template.name


def interpreter_for(source: FunctionSource, wanted: str | None) -> interpreter.Interpreter:
    """--python, else the Runtime the function declares, else coldprof's own interpreter."""
    declared = declared_runtime(source)
    runtime, where = declared if declared else (None, "")
    return interpreter.resolve(wanted, runtime, f" in {where}" if where else "")
