"""Which command starts the runtime client, and under which child script."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.runner.launch import (
    IMPORTTIME_SHIM,
    LINE_TRACER,
    RUN_CHILD_SCRIPT,
    STANDIN_SCRIPT,
    START_AWSLAMBDARIC,
    USAGE_TRACER,
    runtime_command,
)
from coldprof.runner.runtime_client import AWSLAMBDARIC, STANDIN
from coldprof.runner.spec import EnvironmentSpec


def spec(client: str, **options: object) -> EnvironmentSpec:
    return EnvironmentSpec(
        handler="app.handler",
        task_root=Path("/task"),
        runtime_dir=Path("/runtime"),
        python="python3.12",
        runtime_client=client,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("script", [IMPORTTIME_SHIM, USAGE_TRACER, LINE_TRACER])
def test_each_child_script_ends_by_starting_awslambdaric_once(script: Path) -> None:
    # The stand-in replaces that very line: a script that started the runtime otherwise would
    # run awslambdaric where only the stand-in is installed.
    source = script.read_text()
    assert source.count(START_AWSLAMBDARIC) == 1
    assert source.rstrip().endswith(START_AWSLAMBDARIC)


def test_an_untraced_cold_start_runs_the_client_itself() -> None:
    assert runtime_command(spec(AWSLAMBDARIC)) == [
        "python3.12", "-s", "-S", "-m", "awslambdaric", "app.handler"
    ]  # fmt: skip
    command = runtime_command(spec(STANDIN))
    assert command[:4] == ["python3.12", "-s", "-S", "-c"] and command[-1] == "app.handler"
    assert repr(str(STANDIN_SCRIPT)) in command[4]


@pytest.mark.parametrize(
    ("options", "script"),
    [
        ({"importtime": True}, IMPORTTIME_SHIM),
        ({"importtime": True, "trace_file": Path("/t.json")}, USAGE_TRACER),
        ({"trace_file": Path("/t.json"), "lines_config": Path("/l.json")}, LINE_TRACER),
    ],
)
def test_a_traced_cold_start_runs_its_child_script_by_path(
    options: dict[str, object], script: Path
) -> None:
    command = runtime_command(spec(AWSLAMBDARIC, **options))
    assert command == ["python3.12", "-s", "-S", "-c", RUN_CHILD_SCRIPT, str(script), "app.handler"]
    standin = runtime_command(spec(STANDIN, **options))
    assert standin[5:] == [str(script), "app.handler"]
    assert repr(START_AWSLAMBDARIC.encode()) in standin[4]  # swapped for the stand-in's start
    assert repr(str(STANDIN_SCRIPT)) in standin[4]
