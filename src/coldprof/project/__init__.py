"""What the user points at: a SAM/CloudFormation template, serverless.yml or cdk.out → functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from coldprof.errors import UsageError
from coldprof.project.model import (
    STAND_IN_PREFIX,
    FunctionSpec,
    LayerSpec,
    Project,
    Skipped,
    StandIn,
)

__all__ = [
    "STAND_IN_PREFIX",
    "FunctionSpec",
    "LayerSpec",
    "Project",
    "Skipped",
    "StandIn",
    "find_project",
    "load_project",
    "parse_parameters",
    "select_functions",
]

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
SERVERLESS_NAMES = ("serverless.yml", "serverless.yaml")
CDK_OUT = "cdk.out"
# How far above a function folder to look for the template that names it.
_PARENT_LEVELS = 5


def load_project(template: Path, parameters: Mapping[str, str] | None = None) -> Project:
    """One project file (or a cdk.out folder) → its functions."""
    from coldprof.project import sam, serverless

    if template.is_dir():
        return _cdk(template, parameters)
    if template.name in SERVERLESS_NAMES:
        return serverless.load(template, parameters)
    return sam.load(template, parameters)


def _project_file(folder: Path) -> Path | None:
    if (folder / "manifest.json").is_file() and any(folder.glob("*.template.json")):
        return folder
    for name in (*TEMPLATE_NAMES, *SERVERLESS_NAMES):
        if (folder / name).is_file():
            return folder / name
    if (folder / CDK_OUT).is_dir() and any((folder / CDK_OUT).glob("*.template.json")):
        return folder / CDK_OUT
    return None


def find_project(path: Path, parameters: Mapping[str, str] | None = None) -> Project | None:
    """The project at `path`, or, for a function folder inside one, the template above it
    restricted to the functions whose code is that folder. None: no project here."""
    path = path.resolve()
    if path.is_file():
        if path.name in (*TEMPLATE_NAMES, *SERVERLESS_NAMES) or path.suffix in (".yaml", ".yml"):
            return load_project(path, parameters)
        if path.name.endswith(".template.json"):
            return load_project(path, parameters)
        return None
    found = _project_file(path)
    if found is not None:
        return load_project(found, parameters)
    for parent in list(path.parents)[:_PARENT_LEVELS]:
        candidate = _project_file(parent)
        if candidate is None:
            continue
        try:
            project = load_project(candidate, parameters)
        except UsageError:
            continue  # an unreadable template above is not the user's question
        mine = tuple(f for f in project.functions if f.code_dir == path)
        if mine:
            return replace(project, functions=mine, skipped=())
    return None


def _cdk(folder: Path, parameters: Mapping[str, str] | None) -> Project:
    from coldprof.project import sam

    templates = sorted(folder.glob("*.template.json")) + sorted(
        folder.glob("assembly-*/*.template.json")
    )
    functions: list[FunctionSpec] = []
    skipped: list[Skipped] = []
    for template in templates:
        stack = sam.load(template, parameters, source_format="cdk")
        functions.extend(stack.functions)
        skipped.extend(stack.skipped)
    seen: dict[str, int] = {}
    for spec in functions:
        seen[spec.logical_id] = seen.get(spec.logical_id, 0) + 1
    # Two stacks may use one logical id: then the stack's name tells them apart.
    functions = [
        replace(f, logical_id=f"{f.template.name.removesuffix('.template.json')}/{f.logical_id}")
        if seen[f.logical_id] > 1
        else f
        for f in functions
    ]
    return Project(folder, "cdk", tuple(functions), tuple(skipped))


def select_functions(project: Project, ids: Sequence[str]) -> tuple[FunctionSpec, ...]:
    """The functions `--function` names, in the order given; all of them when none is named."""
    if not ids:
        if not project.functions:
            why = "; ".join(f"{s.logical_id}: {s.reason}" for s in project.skipped)
            raise UsageError(
                f"{project.template}: declares no Python function coldprof can analyze"
                + (f" ({why})" if why else "")
            )
        return project.functions
    by_id = {f.logical_id: f for f in project.functions}
    skipped = {s.logical_id: s.reason for s in project.skipped}
    chosen: dict[str, FunctionSpec] = {}
    for wanted in ids:
        if wanted in by_id:
            chosen[wanted] = by_id[wanted]
        elif wanted in skipped:
            raise UsageError(f"--function {wanted}: cannot be analyzed: {skipped[wanted]}")
        else:
            raise UsageError(
                f"--function {wanted}: not declared in {project.template}",
                hint="functions there: " + (", ".join(project.ids()) or "none"),
            )
    return tuple(chosen.values())


def parse_parameters(pairs: Sequence[str] | None) -> dict[str, str]:
    """--parameter KEY=VALUE (as `sam deploy --parameter-overrides`)."""
    parameters = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--parameter {pair.split('=')[0]!r}: expected KEY=VALUE")
        parameters[key] = value
    return parameters
