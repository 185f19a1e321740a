"""The child scripts (runner/child/) run by path in the function's own interpreter: under each
runtime client, and under the oldest Python that Lambda still runs when pyenv has it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from coldprof.build.runtime_dir import runtime_dir
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.launch import IMPORTTIME_SHIM, LINE_TRACER, USAGE_TRACER
from coldprof.runner.runtime_client import AWSLAMBDARIC, STANDIN
from coldprof.runner.spec import EnvironmentSpec

APP = """\
import helper

VALUE = helper.setup()


def handler(event, context):
    import used

    return used.work() + VALUE
"""
FILES = {
    "app.py": APP,
    "helper.py": "def setup():\n    return 1\n",
    "used.py": "def work():\n    return 2\n",
}


def _pyenv_python(version: str) -> str | None:
    if shutil.which("pyenv") is None:
        return None
    found = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
    return os.path.join(found.stdout.strip(), "bin", "python3") if found.returncode == 0 else None


# awslambdaric's runtime directory is built for coldprof's own Python; the stand-in is standard
# library only, so it also runs the child scripts on the oldest Python Lambda runs and on one
# with sys.monitoring (3.12+), which the tracers use where it exists.
OTHERS = [_pyenv_python(version) for version in ("3.9.18", "3.12.1")]
CASES = [(AWSLAMBDARIC, sys.executable), (STANDIN, sys.executable)]
CASES += [(STANDIN, python) for python in OTHERS if python is not None]

Make = Callable[..., EnvironmentSpec]


@pytest.fixture(params=CASES, ids=lambda case: f"{case[0]}-{Path(case[1]).parent.parent.name}")
def spec_for(tmp_path: Path, request: pytest.FixtureRequest) -> Make:
    client, python = request.param
    for name, source in FILES.items():
        (tmp_path / name).write_text(source)

    def make(**options: object) -> EnvironmentSpec:
        return EnvironmentSpec(
            handler="app.handler",
            task_root=tmp_path,
            runtime_dir=runtime_dir(),
            python=python,
            runtime_client=client,
            **options,  # type: ignore[arg-type]
        )

    return make


def _invoke(spec: EnvironmentSpec) -> tuple[ExecutionEnvironment, bytes]:
    environment = ExecutionEnvironment(spec)
    try:
        init = environment.start()
        assert init.ok, (init.describe, environment.init_output(), environment.stderr_text())
        outcome = environment.invoke(b"{}")
        assert outcome.ok, outcome.payload
    finally:
        environment.kill()
    return environment, outcome.payload


def test_the_importtime_shim_gives_the_handler_module_its_row(spec_for: Make) -> None:
    environment, payload = _invoke(spec_for(importtime=True, merge_stderr=False))
    assert payload == b"3"
    rows = [line for line in environment.stderr_text().splitlines() if "import time:" in line]
    names = [row.rsplit("|", 1)[1] for row in rows]
    app = next(name for name in names if name.strip() == "app")
    helper = next(name for name in names if name.strip() == "helper")
    # helper is imported by app's body: nested one level deeper, and printed before it
    assert len(helper) - len(helper.lstrip()) > len(app) - len(app.lstrip())
    assert names.index(helper) < names.index(app)


def test_the_usage_tracer_records_init_and_each_invocation(spec_for: Make, tmp_path: Path) -> None:
    trace = tmp_path / "usage.json"
    _, payload = _invoke(spec_for(trace_file=trace))
    assert payload == b"3"
    data = json.loads(trace.read_text())
    assert [str(tmp_path / "helper.py"), str(tmp_path / "app.py")] in data["init"]["code"]
    [invocation] = data["invocations"]
    files = {Path(name).name for name in invocation["files"]}
    assert {"app.py", "used.py"} <= files and "helper.py" not in files
    monitoring = tuple(map(int, data["python"].split(".")[:2])) >= (3, 12)
    assert data["tracer"] == ("sys.monitoring" if monitoring else "sys.setprofile")


def test_the_line_tracer_times_the_handler_modules_lines(spec_for: Make, tmp_path: Path) -> None:
    output = tmp_path / "lines.json"
    config = tmp_path / "lines-config.json"
    config.write_text(json.dumps({"files": [str(tmp_path / "app.py")], "output": str(output)}))
    _, payload = _invoke(spec_for(lines_config=config))
    assert payload == b"3"
    data = json.loads(output.read_text())
    lines = {entry["line"]: entry for entry in data["lines"]}
    assert "helper" in lines[1]["imported"]  # `import helper`
    assert lines[3]["hits"] == 1  # `VALUE = helper.setup()`
    assert [module["module"] for module in data["modules"]] == ["app"]


@pytest.mark.parametrize(
    "traced", ["importtime", "trace_file", "lines_config"], ids=["importtime", "usage", "lines"]
)
def test_the_functions_traceback_names_no_child_script(
    spec_for: Make, tmp_path: Path, traced: str
) -> None:
    (tmp_path / "helper.py").write_text("raise ValueError('bad config')\n")
    config = tmp_path / "lines-config.json"
    config.write_text(json.dumps({"files": [], "output": str(tmp_path / "lines.json")}))
    value = {"importtime": True, "trace_file": tmp_path / "usage.json", "lines_config": config}
    environment = ExecutionEnvironment(spec_for(**{traced: value[traced]}))
    try:
        init = environment.start()
        output = environment.init_output()
    finally:
        environment.kill()
    assert not init.ok and "bad config" in output and "helper.py" in output
    for script in (IMPORTTIME_SHIM, USAGE_TRACER, LINE_TRACER):
        assert script.name not in output
