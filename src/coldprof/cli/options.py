"""Options that several commands share, declared once; their values, and the request they make."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coldprof.errors import UsageError
from coldprof.render import OutputFormat

if TYPE_CHECKING:
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.project import Project

# -- output --------------------------------------------------------------------------------------
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format", "-f", help="Output format (default: table; with --output, from its extension)."
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the report to this file once the results are ready; stdout then gets a "
        "one-line summary.",
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but errors (the exit code tells).")
]
TopOption = Annotated[int, typer.Option(min=0, help="Dependencies to show in tables (0: all).")]

# -- the function, and how its cold starts run ---------------------------------------------------
PathArgument = Annotated[
    Path,
    typer.Argument(
        help="The function directory (or its handler file), or a project: a folder with "
        "template.yaml, serverless.yml or cdk.out, or that file."
    ),
]
HandlerOption = Annotated[
    str | None,
    typer.Option(
        help="module.function in the folder; default: from the project's template, or "
        "convention."
    ),
]
FunctionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--function",
        help="A project's function by logical id (SAM, CloudFormation, cdk.out) or name "
        "(serverless.yml); repeatable. Default: all of them.",
    ),
]
ParameterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--parameter",
        help="KEY=VALUE for a template parameter (as sam deploy --parameter-overrides); "
        "repeatable.",
    ),
]
MaxRunsOption = Annotated[
    int, typer.Option(min=6, help="With --runs auto: the most cold starts to measure.")
]
BuildOption = Annotated[
    bool,
    typer.Option(
        "--build/--no-build", help="pip install requirements.txt into a cached package first."
    ),
]
LayerOption = Annotated[
    list[Path] | None,
    typer.Option("--layer", help="A layer directory (like /opt); repeatable."),
]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", help="KEY=VALUE for the function's environment; repeatable."),
]
FollowSymlinksOption = Annotated[
    bool,
    typer.Option(
        "--follow-symlinks",
        help="Package what symlinks that leave the function folder point at (refused otherwise).",
    ),
]
InitLimitOption = Annotated[
    float, typer.Option(min=0.1, help="Seconds init may take (Lambda's is 10).")
]
InstallerOption = Annotated[
    str | None,
    typer.Option(
        "--installer",
        metavar="auto|pip|uv",
        help="What builds the package: pip (as sam build does), uv, or auto: uv where it is "
        "installed and yields the same distributions and versions as pip, else pip "
        "[default: [tool.coldprof] installer, else auto].",
        show_default=False,
    ),
]


# -- values --------------------------------------------------------------------------------------
def parse_env(pairs: list[str] | None) -> dict[str, str]:
    """--env KEY=VALUE, repeated → the function's environment."""
    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env {pair.split('=')[0]!r}: expected KEY=VALUE")
        env[key] = value
    return env


def parse_runs(value: str | int) -> tuple[int, bool]:
    """--runs N or --runs auto → (the runs, or the fewest for auto; whether auto)."""
    text = str(value).strip().lower()
    if text == "auto":
        return 6, True
    try:
        runs = int(text)
    except ValueError:
        raise UsageError(f"--runs {value}: expected a number of cold starts or 'auto'") from None
    if runs < 1:
        raise UsageError(f"--runs {value}: at least 1")
    return runs, False


def installer_setting(flag: str | None, start: Path) -> str:
    """--installer, else [tool.coldprof] installer, else auto; checked."""
    from coldprof.config import load

    chosen = flag if flag is not None else str(load(start).get("installer", "auto"))
    if chosen not in ("auto", "pip", "uv"):
        raise UsageError(f"--installer {chosen}: expected auto, pip or uv")
    return chosen


# -- the request analyze and audit make of them ---------------------------------------------------
def analyze_request(
    path: Path,
    *,
    handler: str | None,
    function: str | None,
    parameters: Mapping[str, str],
    runs: tuple[int, bool],
    max_runs: int,
    build: bool,
    layer: list[Path] | None,
    env: list[str] | None,
    follow_symlinks: bool,
    bytecode_runs: int,
    init_limit: float,
    event: list[Path] | None,
    installer: str | None,
) -> AnalyzeRequest:
    """The function and how its cold starts run; `runs` as parse_runs gives it."""
    from coldprof.measure.analyze import AnalyzeRequest

    count, auto = runs
    return AnalyzeRequest(
        path=path,
        handler=handler,
        function=function,
        parameters=parameters,
        runs=count,
        auto_runs=auto,
        max_runs=max_runs,
        build=build,
        layers=tuple(layer or ()),
        env=parse_env(env),
        bytecode_runs=bytecode_runs,
        init_limit_s=init_limit,
        events=tuple(event or ()),
        follow_symlinks=follow_symlinks,
        installer=installer_setting(installer, path),
    )


def project_to_run(
    path: Path, parameters: Mapping[str, str], functions: list[str]
) -> Project | None:
    """The project at `path` when the run covers more than one of its functions, else None."""
    from coldprof.project import find_project

    project = find_project(path, parameters)
    if project is None:
        if functions:
            raise UsageError(f"--function: {path} holds no template, serverless.yml or cdk.out")
        return None
    return project if len(functions) > 1 or (not functions and len(project.functions) > 1) else None
