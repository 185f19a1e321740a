"""The function's own init line by line, and the first invocation's cost: real cold starts of
a function whose module-level lines and lazy import burn known times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.render import OutputFormat, render
from coldprof.results.analyze import AnalyzeResult, FunctionLine
from conftest import busy_module, coldprof_cmd, install_distribution

BURN_LINE = 13  # app.py's line that burns BURN_MS at init
APP = """\
import json
import time

import helper
import initlib


def _burn(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

_burn(0.080)
SETTINGS = json.loads(
    '{"debug": false}'
)


def lambda_handler(event, context):
    import slowdep

    return {"ok": slowdep.work(), "debug": SETTINGS["debug"]}
"""
# Ground truth, ms: app.py's line, helper's module body (a loop at module level: a line event
# per turn under sys.settrace), what initlib's import burns, and the handler's lazy import.
BURN_MS, HELPER_MS, INITLIB_MS, SLOWDEP_MS = 80.0, 40.0, 40.0, 30.0
# A line that does next to nothing, on a loaded machine: the one traced cold start may be
# preempted anywhere for a few ms.
CHEAP_MS = 10.0
TRACER = "sys.monitoring" if sys.version_info >= (3, 12) else "sys.settrace"


def within(measured: float, truth: float) -> bool:
    """The accuracy promised for a module-level line: within max(5 ms, 20 %)."""
    return abs(measured - truth) <= max(5.0, 0.2 * truth)


def near(measured: float, truth: float) -> bool:
    """For the smaller known times around it, a loaded 2-core machine's noise: as the advisor's."""
    return abs(measured - truth) <= max(8.0, 0.25 * truth)


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lines") / "fn"
    root.mkdir()
    assert APP.splitlines()[BURN_LINE - 1] == "_burn(0.080)"
    (root / "app.py").write_text(APP)
    (root / "helper.py").write_text(busy_module(HELPER_MS))
    install_distribution(root, "initlib", {"initlib/__init__.py": busy_module(INITLIB_MS)})
    work = "\ndef work():\n    return 1\n"
    install_distribution(root, "slowdep", {"slowdep/__init__.py": busy_module(SLOWDEP_MS) + work})
    return root


@pytest.fixture(scope="module")
def event(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("event") / "event.json"
    path.write_text(json.dumps({"id": 1}))
    return path


@pytest.fixture(scope="module")
def analyzed(function: Path, event: Path) -> AnalyzeResult:
    return analyze(
        AnalyzeRequest(
            path=function, handler="app.lambda_handler", runs=5, bytecode_runs=0, events=(event,)
        )
    )


def line_at(result: AnalyzeResult, file: str, line: int) -> FunctionLine:
    found = [x for x in result.function_lines if (x.file, x.line) == (file, line)]
    assert len(found) == 1, result.function_lines
    return found[0]


# -- line by line ------------------------------------------------------------------------------
def test_a_module_level_line_gets_the_time_it_burns(analyzed: AnalyzeResult) -> None:
    assert analyzed.function_lines_tracer == TRACER
    burn = line_at(analyzed, "app.py", BURN_LINE)
    assert within(burn.self_ms, BURN_MS), burn
    assert (burn.kind, burn.callee, burn.text) == ("call", "_burn", "_burn(0.080)")
    assert burn.dependency == "(function)" and burn.module == "app"
    # The heaviest line of the function is that one.
    assert analyzed.function_lines[0] == burn


def test_imports_and_calls_are_told_apart(analyzed: AnalyzeResult) -> None:
    settings = line_at(analyzed, "app.py", 14)  # a call over three lines: one statement
    assert settings.kind == "call" and settings.callee == "json.loads"
    assert settings.text == "SETTINGS = json.loads( '{\"debug\": false}' )"
    assert settings.self_ms < CHEAP_MS
    initlib = line_at(analyzed, "app.py", 5)
    assert (initlib.kind, initlib.text) == ("import", "import initlib")
    # Not traced itself, initlib's import is its timed import time.
    assert near(initlib.self_ms, INITLIB_MS), initlib
    assert line_at(analyzed, "app.py", 8).kind == "def"


def test_a_traced_module_imported_at_init_reports_its_own_lines(analyzed: AnalyzeResult) -> None:
    # helper's loop runs at module level: under sys.settrace each turn is a line event, so its
    # traced time is far off; scaled to the timed self time of helper, its lines add up.
    helper = [x for x in analyzed.function_lines if x.file == "helper.py"]
    assert near(sum(x.self_ms for x in helper), HELPER_MS), helper
    # ... and the line importing it leaves that time to them.
    assert line_at(analyzed, "app.py", 4).self_ms < CHEAP_MS


# -- the first invocation ----------------------------------------------------------------------
def test_the_first_invocation_reports_its_imports_and_the_cold_penalty(
    analyzed: AnalyzeResult, event: Path
) -> None:
    first = analyzed.first_invocation
    assert first is not None and first.error is None, first
    assert first.event == str(event)
    imports = {i.name: i.inclusive_ms for i in first.imports}
    assert near(imports.get("slowdep", 0.0), SLOWDEP_MS), first
    assert first.duration_ms is not None and first.warm_duration_ms is not None
    assert first.duration_ms >= SLOWDEP_MS * 0.8 and first.warm_duration_ms < SLOWDEP_MS / 2
    assert len(first.duration_ms_samples) == analyzed.runs
    expected = analyzed.init_ms.median + first.duration_ms - first.warm_duration_ms
    assert first.cold_penalty_ms == pytest.approx(expected, abs=0.01)
    # The lazy import is no init cost.
    assert analyzed.dependency("slowdep") is None


def test_the_advisor_counts_a_dependency_the_handler_imports_and_runs(
    analyzed: AnalyzeResult, event: Path
) -> None:
    report = analyzed.advisor
    assert report is not None
    assert "slowdep" in report.events[0].used
    moved = {f.name: f for f in report.first_call}
    assert set(moved) == {"slowdep"}, report.first_call
    assert moved["slowdep"].used_by == (str(event),)
    assert moved["slowdep"].import_ms is not None and near(moved["slowdep"].import_ms, SLOWDEP_MS)
    assert "moved from init to the first invocation" in moved["slowdep"].describe()
    assert all(d.name != "slowdep" for d in report.deferrable)


def test_a_handler_that_fails_on_the_event_is_invoked_once(make_function, tmp_path: Path) -> None:
    count = tmp_path / "invocations"
    root = make_function(
        f"""\
        def lambda_handler(event, context):
            with open({str(count)!r}, "a") as f:
                f.write("x")
            raise ValueError("no such order")
        """
    )
    event = tmp_path / "event.json"
    event.write_text("{}")
    result = analyze(AnalyzeRequest(path=root, runs=3, bytecode_runs=0, events=(event,)))
    first = result.first_invocation
    assert first is not None and first.duration_ms is None and first.cold_penalty_ms is None
    assert first.error == "ValueError: no such order"
    # One timed run, then the advisor's traced one: not every timed run waits on a failure.
    assert count.read_text() == "xx"
    assert "first invocation (" in render(result, OutputFormat.table)


# -- reports -----------------------------------------------------------------------------------
def test_reports_show_the_lines_and_say_they_are_scaled(analyzed: AnalyzeResult) -> None:
    table = render(analyzed, OutputFormat.table)
    rows = table.splitlines()
    function_row = next(i for i, r in enumerate(rows) if r.startswith("(function)"))
    assert rows[function_row + 1].startswith(f"· app.py:{BURN_LINE} _burn(0.080)")
    assert "call _burn" in rows[function_row + 1]
    assert f"one traced cold start ({TRACER}), scaled to the timed runs" in table
    assert "cold penalty" in table and "the first invocation imported: slowdep" in table
    assert "slowdep: imported inside the handler" in table
    page = render(analyzed, OutputFormat.html)
    assert "The function&#x27;s own init, line by line" in page or "own init, line by line" in page
    assert page.index("analyze-tree") < page.index("analyze-lines") < page.index("_burn(0.080)")
    data = json.loads(render(analyzed, OutputFormat.json))
    line = next(x for x in data["function_lines"] if x["line"] == BURN_LINE)
    assert {"file", "line", "text", "self_ms", "kind"} <= set(line) and line["file"] == "app.py"
    assert set(data["first_invocation"]) >= {
        "duration_ms",
        "warm_duration_ms",
        "imports",
        "cold_penalty_ms",
    }
    again = AnalyzeResult.from_dict(data)
    assert again.function_lines == analyzed.function_lines
    assert again.first_invocation == analyzed.first_invocation


def test_a_result_saved_before_lines_existed_still_loads(analyzed: AnalyzeResult) -> None:
    old = analyzed.to_dict()
    for key in ("function_lines", "function_lines_tracer", "function_lines_note"):
        del old[key]
    del old["first_invocation"]
    loaded = AnalyzeResult.from_dict(old)
    assert loaded.function_lines == () and loaded.first_invocation is None
    assert "traced cold start" not in render(loaded, OutputFormat.table)


# -- --lines NAME and --no-lines ----------------------------------------------------------------
def test_lines_of_a_named_dependency(function: Path) -> None:
    result = analyze(
        AnalyzeRequest(
            path=function,
            handler="app.lambda_handler",
            runs=2,
            bytecode_runs=0,
            line_dependencies=("InitLib",),  # as users spell it: normalized
        )
    )
    initlib = [x for x in result.function_lines if x.dependency == "initlib"]
    assert initlib and {x.file for x in initlib} == {"initlib/__init__.py"}
    assert near(sum(x.self_ms for x in initlib), INITLIB_MS), initlib
    # Traced itself now, initlib's body is no longer in the line that imports it.
    assert line_at(result, "app.py", 5).self_ms < CHEAP_MS
    assert result.first_invocation is None  # no --event


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(coldprof_cmd(*args), capture_output=True, text=True, timeout=300)


def test_an_unknown_lines_dependency_is_a_usage_error(function: Path) -> None:
    done = run_cli("analyze", str(function), "--handler", "app.lambda_handler", "--lines", "nope")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("coldprof: error: --lines nope: no such distribution")
    assert "initlib" in done.stderr and "Traceback" not in done.stderr


def test_no_lines_skips_the_traced_cold_start(function: Path) -> None:
    done = run_cli(
        "analyze",
        str(function),
        "--handler",
        "app.lambda_handler",
        "--runs",
        "1",
        "--bytecode-runs",
        "0",
        "--no-lines",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["function_lines"] == [] and data["function_lines_tracer"] == ""
