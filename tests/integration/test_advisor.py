"""The lazy-import advisor: real traced cold starts of small packages, the AST rewrite, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coldprof.audit.deferrable import deferrable_findings
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.render import OutputFormat, render
from coldprof.results.advisor import AdvisorReport
from coldprof.results.analyze import AnalyzeResult
from coldprof.runner.launch import RUN_CHILD_SCRIPT, USAGE_TRACER
from conftest import busy_module, coldprof_cmd, install_distribution

HANDLER = """\
import json
import usedlib
import sometimes
import neverlib
import config


def lambda_handler(event, context):
    usedlib.work()
    if event.get("fetch"):
        return sometimes.fetch()
    return {"ok": True, "debug": config.SETTINGS}


def report():
    return neverlib.summary()
"""

# config.py calls into initdep from its module body, through a function: the AST alone would
# say initdep is used only inside a function; the init trace knows better.
CONFIG = """\
import initdep


def load():
    return initdep.parse("debug")


SETTINGS = load()
"""

# Ground truth: what each dependency busy-waits at import, in ms. The deferrable ones are big
# so that --verify's measured saving stands out of a busy 2-core machine's init noise.
TRUTH = {"usedlib": 20.0, "sometimes": 100.0, "neverlib": 120.0, "neverdep": 100.0, "initdep": 10.0}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("advisor") / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text(HANDLER)
    (root / "config.py").write_text(CONFIG)
    work = "\ndef work():\n    return 1\n"
    install_distribution(
        root, "usedlib", {"usedlib/__init__.py": busy_module(TRUTH["usedlib"]) + work}
    )
    fetch = "\ndef fetch():\n    return {'fetched': True}\n"
    install_distribution(
        root, "sometimes", {"sometimes/__init__.py": busy_module(TRUTH["sometimes"]) + fetch}
    )
    install_distribution(root, "neverdep", {"neverdep.py": busy_module(TRUTH["neverdep"])})
    summary = "\ndef summary():\n    return 'never called'\n"
    install_distribution(
        root,
        "neverlib",
        {"neverlib/__init__.py": busy_module(TRUTH["neverlib"], "import neverdep") + summary},
    )
    parse = "\ndef parse(text):\n    return text.upper()\n"
    install_distribution(root, "initdep", {"initdep.py": busy_module(TRUTH["initdep"]) + parse})
    return root


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("events")
    written = {}
    for name, event in {"plain": {"fetch": False}, "fetch": {"fetch": True}}.items():
        written[name] = folder / f"{name}.json"
        written[name].write_text(json.dumps(event))
    return written


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def verified(package: Path, events: dict[str, Path]) -> tuple[AnalyzeResult, dict[str, str]]:
    """One event that never fetches, with --verify; and the package's files before it ran."""
    before = snapshot(package)
    result = analyze(
        AnalyzeRequest(
            path=package, runs=2, bytecode_runs=0, events=(events["plain"],), verify=True
        )
    )
    return result, before


def advice(result: AnalyzeResult) -> AdvisorReport:
    report = result.advisor
    assert report is not None, result.extras
    return report


def near(measured: float, truth: float) -> bool:
    return abs(measured - truth) <= max(8.0, 0.25 * truth)


# -- real traced cold starts ------------------------------------------------------------------
def test_unused_dependencies_are_deferrable_with_their_import_lines(verified) -> None:
    report = advice(verified[0])
    found = {d.name: d for d in report.deferrable}
    assert set(found) == {"sometimes", "neverlib"}, report
    assert report.events[0].ok and report.events[0].used == ("usedlib",)
    sometimes, neverlib = found["sometimes"], found["neverlib"]
    assert [s.where for s in sometimes.sites] == ["lambda_function.py:3"]
    assert sometimes.sites[0].functions == ("lambda_handler",)
    assert "move `import sometimes`" in sometimes.fix and "lambda_handler()" in sometimes.fix
    assert [s.where for s in neverlib.sites] == ["lambda_function.py:4"]
    assert neverlib.sites[0].functions == ("report",)
    # neverdep is pulled in by neverlib: listed under it, never a finding of its own.
    assert neverlib.pulls == ("neverdep",)
    assert near(sometimes.saving_ms, TRUTH["sometimes"])
    assert near(neverlib.saving_ms, TRUTH["neverlib"] + TRUTH["neverdep"])
    # The total counts neverdep once, inside neverlib.
    truth = TRUTH["sometimes"] + TRUTH["neverlib"] + TRUTH["neverdep"]
    assert near(report.total_saving_ms, truth), report.total_saving_ms
    assert report.total_saving_ms == pytest.approx(sometimes.saving_ms + neverlib.saving_ms, 0.1)


def test_module_level_code_calling_a_dependency_keeps_it(verified) -> None:
    report = advice(verified[0])
    kept = {k.name: k.reason for k in report.kept}
    assert "initdep" not in {d.name for d in report.deferrable}
    assert "called by module-level code at init (config.py)" == kept["initdep"]
    assert kept["usedlib"] == "used by every event"


def test_verify_measures_the_saving_on_a_copy_and_leaves_the_package_alone(
    verified, package: Path
) -> None:
    result, before = verified
    v = advice(result).verification
    assert v is not None and v.note is None, v
    assert set(v.deferred) == {"sometimes", "neverlib"}
    assert sorted(v.rewrites) == [
        "lambda_function.py:3 sometimes → lambda_handler()",
        "lambda_function.py:4 neverlib → report()",
    ]
    assert v.still_imported == ()
    assert v.behaviour == "same responses to 1 event(s)"
    truth = TRUTH["sometimes"] + TRUTH["neverlib"] + TRUTH["neverdep"]
    assert near(v.predicted_ms, truth), v
    assert v.measured_ms is not None and v.rewritten_init_ms is not None
    # Two runs a side on a shared machine: the measured saving is noisier than the prediction.
    assert abs(v.measured_ms - v.predicted_ms) <= max(40.0, 0.25 * v.predicted_ms), v
    assert v.original_init_ms - v.rewritten_init_ms == pytest.approx(v.measured_ms, abs=0.01)
    assert len(v.original_samples) == len(v.rewritten_samples) == 2
    assert snapshot(package) == before


def test_a_dependency_used_only_by_some_events_is_not_deferrable(
    package: Path, events: dict[str, Path]
) -> None:
    request = AnalyzeRequest(
        path=package, runs=2, bytecode_runs=0, events=(events["plain"], events["fetch"])
    )
    report = advice(analyze(request))
    assert [e.used for e in report.events] == [("usedlib",), ("sometimes", "usedlib")]
    assert {d.name for d in report.deferrable} == {"neverlib"}
    kept = {k.name: k for k in report.kept}
    assert kept["sometimes"].reason == f"used only by {events['fetch']}"
    assert kept["sometimes"].used_by == (str(events["fetch"]),)
    assert report.verification is None


def test_verify_without_events_treats_every_import_as_deferrable(package: Path) -> None:
    report = advice(analyze(AnalyzeRequest(path=package, runs=1, bytecode_runs=0, verify=True)))
    assert {d.name for d in report.deferrable} == {"usedlib", "sometimes", "neverlib"}
    assert any("no --event given" in note for note in report.notes)
    v = report.verification
    assert v is not None and v.behaviour == "not checked: no events"
    assert set(v.deferred) == {"usedlib", "sometimes", "neverlib"}


def test_reports_round_trip_and_render(verified) -> None:
    result = verified[0]
    loaded = AnalyzeResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert loaded.advisor == result.advisor
    assert [d.name for d in deferrable_findings(loaded, 150)] == ["neverlib"]
    assert {d.name for d in deferrable_findings(loaded, 0)} == {"neverlib", "sometimes"}
    table = render(loaded, OutputFormat.table)
    assert "Lazy-import advisor: 1 event" in table
    assert "lambda_function.py:3" in table and "verify: predicted" in table
    markdown = render(loaded, OutputFormat.markdown)
    assert "### Lazy-import advisor" in markdown and "| neverlib " in markdown
    html = render(loaded, OutputFormat.html)
    assert 'id="analyze-advisor"' in html and "lambda_function.py:4" in html
    plain = AnalyzeResult.from_dict({k: v for k, v in result.to_dict().items() if k != "advisor"})
    assert deferrable_findings(plain, 0) == []
    assert "advisor" not in render(plain, OutputFormat.table).lower()


# -- the CLI ------------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(coldprof_cmd(*args), capture_output=True, text=True, timeout=120)


def test_bad_event_files_are_usage_errors(make_function, tmp_path: Path) -> None:
    root = make_function()
    missing = run_cli("analyze", str(root), "--event", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "--event" in missing.stderr and "No such file" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"fetch": tru')
    invalid = run_cli("analyze", str(root), "--event", str(broken))
    assert invalid.returncode == 2
    assert invalid.stderr.startswith(f"coldprof: error: --event {broken}: not valid JSON")
    for done in (missing, invalid):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_handler_error_exits_3_and_init_side_effects_are_recorded(
    make_function, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on: the connect fails fast
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = make_function(
        f"""\
        import socket, subprocess

        try:
            socket.getaddrinfo("localhost", 443)
        except OSError:
            pass
        with socket.socket() as s:
            s.settimeout(1)
            try:
                s.connect(("127.0.0.1", {port}))
            except OSError:
                pass
        subprocess.run(["true"])
        with open("settings.ini") as handle:
            SETTINGS = handle.read()


        def lambda_handler(event, context):
            if event.get("fail"):
                raise ValueError("bad event: " + event["fail"])
            return {{"ok": True}}
        """,
        extra_files={"settings.ini": "[x]\n"},
    )
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text("{}")
    bad.write_text('{"fail": "no such order"}')
    args = ["--runs", "1", "--bytecode-runs", "0", "--format", "json"]
    done = run_cli("analyze", str(root), *args, "--event", str(good), "--event", str(bad))
    assert done.returncode == 3, done.stderr
    assert "ValueError: bad event: no such order" in done.stderr
    assert "lambda_function.py" in done.stderr  # the function's own traceback
    assert f"the handler failed on --event {bad}" in done.stderr
    report = json.loads(done.stdout)["advisor"]
    assert [e["ok"] for e in report["events"]] == [True, False]
    assert report["events"][1]["error_type"] == "ValueError"
    effects = report["side_effects"]
    assert effects["network"] == [f"connect 127.0.0.1:{port}"]
    assert effects["dns"] == ["localhost:443"]
    assert effects["subprocesses"] == ["subprocess.Popen: true"]
    assert any(f.endswith("settings.ini") for f in effects["other_files"])
    assert effects["module_file_opens"] > 0
    assert effects["file_opens"] > effects["module_file_opens"]
    loaded = AnalyzeResult.from_dict(json.loads(done.stdout))
    assert "warning: network at init" in render(loaded, OutputFormat.table)


# -- the tracer in the child, on every Python it branches for -----------------------------------
# Stands in for awslambdaric (whose compiled part exists for this venv's Python only): it
# loads the handler the way awslambdaric's bootstrap does, then runs two invocations.
FAKE_RUNTIME = """\
import importlib, sys

module_name, function_name = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)
print(handler({}, None), handler({"fetch": True}, None))
"""


def pythons() -> list[str]:
    """This interpreter (3.11: sys.setprofile) and pyenv's 3.12+ (sys.monitoring), if present."""
    found = [sys.executable]
    pyenv = shutil.which("pyenv")
    for version in ("3.12.1", "3.13.0"):
        if (
            pyenv
            and subprocess.run(["pyenv", "prefix", version], capture_output=True).returncode == 0
        ):
            prefix = subprocess.run(
                ["pyenv", "prefix", version], capture_output=True, text=True
            ).stdout.strip()
            found.append(os.path.join(prefix, "bin", "python3"))
    return found


@pytest.mark.parametrize("python", pythons())
def test_usage_tracer_records_only_what_invocations_run(python: str, tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name, source in {
        "awslambdaric/__init__.py": "",
        "awslambdaric/__main__.py": FAKE_RUNTIME,
        "app.py": """\
            import used, sometimes, unused, classonly, atinit
            VALUE = atinit.setup()

            def handler(event, context):
                used.work()
                classonly.Plain()
                if event.get("fetch"):
                    return sometimes.work()
                return 1
            """,
        "used.py": "def work():\n    return 1\n",
        "sometimes.py": "def work():\n    return 2\n",
        "unused.py": "def work():\n    return 3\n",
        "classonly.py": "class Plain:\n    pass\n",
        "atinit.py": "def setup():\n    return 4\n",
    }.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(textwrap.dedent(source))
    trace = tmp_path / "trace.json"
    env = {"COLDPROF_TRACE_FILE": str(trace), "PYTHONPATH": str(site)}
    done = subprocess.run(
        [python, "-s", "-S", "-c", RUN_CHILD_SCRIPT, str(USAGE_TRACER), "app.handler"],
        env=env,
        cwd=site,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "2"]  # the wrapped handler returns what it returned
    data = json.loads(trace.read_text())
    monitoring = tuple(map(int, data["python"].split(".")[:2])) >= (3, 12)
    assert data["tracer"] == ("sys.monitoring" if monitoring else "sys.setprofile")
    first, second = ({Path(f).stem for f in i["files"]} for i in data["invocations"])
    assert {"used", "app"} <= first and "sometimes" not in first and "unused" not in first
    assert {"used", "sometimes"} <= second and "unused" not in second
    assert "atinit" not in first | second  # it ran at init, not in the invocations
    assert [str(site / "atinit.py"), str(site / "app.py")] in data["init"]["code"]
    if monitoring:  # a class with no Python code is seen through the CALL event
        assert "classonly" in data["invocations"][0]["modules"]


def test_audit_fails_on_a_deferrable_dependency_over_the_limit(
    package: Path, events: dict[str, Path]
) -> None:
    args = ["audit", str(package), "--runs", "1", "--format", "json", "--no-build"]
    plain = ["--event", str(events["plain"])]
    over = run_cli(*args, *plain, "--fail-on-deferrable-ms", "150")
    assert over.returncode == 1, over.stderr
    findings = json.loads(over.stdout)["findings"]
    assert [(f["rule"], f["subject"]) for f in findings] == [("fail-on-deferrable-ms", "neverlib")]
    assert "lambda_function.py:4" in findings[0]["message"]
    both = ["--event", str(events["plain"]), "--event", str(events["fetch"])]
    under = run_cli(*args, *both, "--fail-on-deferrable-ms", "300")
    assert under.returncode == 0, under.stderr
    assert json.loads(under.stdout)["findings"] == []
    no_events = run_cli(*args, "--fail-on-deferrable-ms", "10")
    assert no_events.returncode == 2 and "needs --event" in no_events.stderr
