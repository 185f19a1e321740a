"""audit: budgets, baselines that name the culprit, noise, comparability, and exit codes."""

from __future__ import annotations

import json
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from coldprof.audit.core import (
    AuditResult,
    Budgets,
    IncomparableBaselineError,
    audit,
    check_comparable,
    compare,
    rank_test_p,
)
from coldprof.errors import EXIT_USAGE
from coldprof.results.models import ImportTreeNode
from conftest import busy_module, coldprof_cmd, install_distribution
from factories import dependency, result

INIT = [100.0, 102.0, 98.0, 101.0, 99.0]


def rules(audited: AuditResult) -> list[tuple[str, str]]:
    return [(f.rule, f.subject) for f in audited.findings]


# -- budgets ------------------------------------------------------------------------------------
def test_init_budget_names_the_heaviest_imports() -> None:
    run = result([dependency("slowdep", [60.0] * 5)], INIT)
    audited = audit(run, Budgets(max_init_ms=80))
    assert rules(audited) == [("max-init-ms", "init")]
    finding = audited.findings[0]
    assert finding.measured == 100.0 and finding.limit == 80
    assert "slowdep 60.0 ms" in finding.message
    assert audit(run, Budgets(max_init_ms=150)).ok


def test_dependency_budget_holds_only_what_the_function_imports() -> None:
    run = result([dependency("slowdep", [60.0] * 5), dependency("small", [3.0] * 5)], INIT)
    audited = audit(run, Budgets(max_dependency_ms=10))
    # awslambdaric (20 ms inclusive) is loaded by the runtime for every function: not a finding.
    assert rules(audited) == [("max-dependency-ms", "slowdep")]
    assert "slowdep 1.0 costs 60.0 ms" in audited.findings[0].message


def test_package_budget_is_zipped_megabytes_and_names_the_largest() -> None:
    big = dependency("bigdep", [1.0] * 5, zipped=30 * 2**20, unzipped=90 * 2**20)
    audited = audit(result([big], INIT), Budgets(max_package_mb=25))
    assert rules(audited) == [("max-package-mb", "package")]
    assert "bigdep 30.0 MiB" in audited.findings[0].message
    assert audit(result([big], INIT), Budgets(max_package_mb=31)).ok


def test_no_budget_no_baseline_is_clean_and_says_so() -> None:
    audited = audit(result([dependency("slowdep", [60.0] * 5)], INIT), Budgets())
    assert audited.ok
    assert any("nothing to hold" in note for note in audited.notes)


# -- the baseline ---------------------------------------------------------------------------------
def test_a_regression_names_the_culprit_with_self_inclusive_and_bytes() -> None:
    before = result([dependency("slowdep", [20.0, 21, 19, 20, 20], unzipped=2**20)], INIT)
    grown = dependency(
        "slowdep", [80.0, 81, 79, 80, 80], [95.0, 96, 94, 95, 95], unzipped=3 * 2**20
    )
    grown = type(grown)(**{**grown.__dict__, "version": "2.0"})
    after = result([grown], [160.0, 161, 159, 160, 162])
    audited = audit(after, Budgets(), before)
    assert ("dependency-regression", "slowdep") in rules(audited)
    assert ("init-regression", "init") in rules(audited)
    finding = next(f for f in audited.findings if f.subject == "slowdep")
    assert finding.baseline == 20.0 and finding.measured == 80.0
    for words in ("self 20.0 ms → 80.0 ms", "+60.0 ms", "inclusive 20.0 ms → 95.0 ms", "+2.0 MiB"):
        assert words in finding.message, finding.message
    assert "version 1.0 → 2.0" in finding.message
    init = next(f for f in audited.findings if f.rule == "init-regression")
    assert "slowdep +60.0 ms" in init.message  # the init finding points at the culprit too


def test_a_new_dependency_is_named() -> None:
    before = result([dependency("slowdep", [20.0] * 5)], INIT)
    after = result(
        [dependency("slowdep", [20.0] * 5), dependency("newdep", [40.0, 41, 39, 40, 40])],
        [140.0, 141, 139, 140, 142],
    )
    audited = audit(after, Budgets(), before)
    assert ("new-dependency", "newdep") in rules(audited)
    finding = next(f for f in audited.findings if f.rule == "new-dependency")
    assert "newdep 1.0 is new at init: 40.0 ms inclusive" in finding.message
    assert ("dependency-regression", "slowdep") not in rules(audited)


def _node(module: str, dep: str, ms: float, *children: ImportTreeNode) -> ImportTreeNode:
    return ImportTreeNode(module, dep, ms, ms + sum(c.cumulative_ms for c in children), children)


def test_a_new_dependency_that_came_with_another_is_listed_under_it() -> None:
    # pandas imports numpy, which imports a (stdlib) helper that imports numlib: a chain of
    # consequences of one change. directdep is new too, but the function imports it itself.
    deps = [
        dependency("pandas", [50.0] * 5, [100.0] * 5),
        dependency("numpy", [40.0] * 5, [50.0] * 5),
        dependency("numlib", [10.0] * 5),
        dependency("tinylib", [0.5] * 5),  # too cheap for a finding of its own
        dependency("directdep", [30.0] * 5),
    ]
    before = result([], INIT)
    after = replace(
        result(deps, [200.0, 201, 199, 200, 202]),
        imports=(
            _node(
                "lambda_function",
                "(function)",
                1.0,
                _node(
                    "pandas",
                    "pandas",
                    50.0,
                    _node(
                        "numpy",
                        "numpy",
                        40.0,
                        _node("importlib.util", "(stdlib)", 1.0, _node("numlib", "numlib", 10.0)),
                    ),
                    _node("tinylib", "tinylib", 0.5),
                ),
                _node("directdep", "directdep", 30.0),
            ),
        ),
    )
    audited = audit(after, Budgets(), before)
    new = {f.subject: f for f in audited.findings if f.rule == "new-dependency"}
    assert set(new) == {"pandas", "directdep"}
    assert new["pandas"].pulled_in == ("numpy", "numlib", "tinylib")  # heaviest first
    assert "it brings in, new too: numpy 1.0 (50.0 ms inclusive), numlib 1.0" in (
        new["pandas"].message
    )
    assert new["directdep"].pulled_in == ()
    by_name = {c.name: c for c in audited.changes}
    assert by_name["numpy"].pulled_in_by == "pandas"
    assert by_name["numlib"].pulled_in_by == "pandas"
    assert by_name["directdep"].pulled_in_by is None
    assert not any("tinylib" in note for note in audited.notes)  # listed once, under pandas
    assert AuditResult.from_dict(audited.to_dict()) == audited


def test_a_new_dependency_also_imported_directly_stands_on_its_own() -> None:
    deps = [dependency("pandas", [50.0] * 5, [90.0] * 5), dependency("numpy", [40.0] * 5)]
    after = replace(
        result(deps, [200.0, 201, 199, 200, 202]),
        imports=(
            _node(
                "lambda_function",
                "(function)",
                1.0,
                _node("pandas", "pandas", 50.0, _node("numpy", "numpy", 40.0)),
                _node("numpy.linalg", "numpy", 5.0),  # first imported by the function itself
            ),
        ),
    )
    audited = audit(after, Budgets(), result([], INIT))
    assert {f.subject for f in audited.findings if f.rule == "new-dependency"} == {
        "pandas",
        "numpy",
    }


def test_removed_and_faster_dependencies_are_notes_not_findings() -> None:
    before = result([dependency("slowdep", [60.0] * 5), dependency("gone", [30.0] * 5)], INIT)
    after = result([dependency("slowdep", [20.0] * 5)], [50.0, 51, 49, 50, 50])
    audited = audit(after, Budgets(), before)
    assert audited.ok
    notes = " | ".join(audited.notes)
    assert "gone is no longer imported at init" in notes
    assert "slowdep shrank" in notes
    assert "init improved" in notes


# -- noise --------------------------------------------------------------------------------------
def test_a_change_within_the_runs_spread_is_not_a_regression() -> None:
    noisy_before = [30.0, 45.0, 20.0, 50.0, 35.0]  # median 35, MAD 10
    noisy_after = [44.0, 60.0, 30.0, 65.0, 43.0]  # median 44: +9 ms, +26 %
    delta = compare(35.0, 44.0, noisy_before, noisy_after, Budgets())
    assert delta.verdict == "same" and delta.noise_judged
    assert delta.threshold_ms > 9.0
    # The same medians from tight runs are a real change.
    tight = compare(35.0, 44.0, [35.0, 35.5, 34.5, 35, 35], [44.0, 44.5, 43.5, 44, 44], Budgets())
    assert tight.verdict == "grew"


def test_one_slow_run_does_not_make_a_regression() -> None:
    before = result([dependency("slowdep", [20.0, 20.5, 19.5, 20.0, 20.2])], INIT)
    after = result(
        [dependency("slowdep", [20.1, 20.4, 19.8, 20.0, 95.0])], [100, 101, 99, 100, 240]
    )
    assert audit(after, Budgets(), before).ok


def test_three_runs_whose_spread_collapses_by_chance_are_not_a_regression() -> None:
    """Seen on a loaded 2-core machine: the same botocore, measured twice with --runs 3."""
    before, after = [64.988, 107.379, 61.075], [82.004, 56.366, 82.079]
    delta = compare(64.988, 82.004, before, after, Budgets())
    # +17 ms, +26 %, and the MAD of the second set is 0.07 ms: the size test alone would fire.
    assert delta.change > delta.threshold_ms
    assert delta.verdict == "same" and delta.p_value is not None and delta.p_value > 0.5


def test_the_rank_test_is_exact_for_few_runs() -> None:
    assert rank_test_p([1, 2, 3], [4, 5, 6]) == pytest.approx(1 / 20)  # complete separation
    assert rank_test_p([4, 5, 6], [1, 2, 3]) == pytest.approx(1.0)
    assert rank_test_p(list(range(10)), list(range(10, 20))) == pytest.approx(1 / 184756)
    assert rank_test_p([1.0] * 4, [1.0] * 4) == pytest.approx(0.5, abs=0.15)
    assert 0 < rank_test_p(list(range(30)), list(range(15, 45))) < 1e-3  # normal approximation


def test_a_machine_running_slower_is_not_a_regression_of_the_function() -> None:
    """A shared CI runner can run the audit at half the baseline's pace: the runtime's own
    imports, the same code in both runs, show it, and the baseline is judged at that pace."""
    pace = [20.0, 20.5, 19.5, 20.2, 19.8]
    slowdep = dependency("slowdep", [30.0, 30.5, 29.5, 30.2, 29.8])
    before = result([slowdep], INIT, runtime_samples=pace)
    twice = [2 * p for p in pace]
    slow_machine = result(
        [dependency("slowdep", [60.0, 61, 59, 60.4, 59.6])],
        [2 * i for i in INIT],
        runtime_samples=twice,
    )
    audited = audit(slow_machine, Budgets(), before)
    assert audited.ok, [f.message for f in audited.findings]
    assert audited.drift is not None and audited.drift.factor == pytest.approx(2.0, rel=0.02)
    assert any("2.00× as slowly" in note for note in audited.notes)
    # A faster machine never turns a steady dependency into a regression.
    fast_machine = result([slowdep], INIT, runtime_samples=[p / 2 for p in pace])
    fast = audit(fast_machine, Budgets(), before)
    assert fast.ok and fast.drift is not None and fast.drift.factor < 1
    # A real regression still shows through the slower machine: 30 ms → 120 ms at twice the pace.
    regressed = result(
        [dependency("slowdep", [120.0, 121, 119, 120.4, 119.6])],
        [2 * i + 60 for i in INIT],
        runtime_samples=twice,
    )
    assert ("dependency-regression", "slowdep") in rules(audit(regressed, Budgets(), before))
    # The runtime's own imports grew too, and are nobody's culprit.
    assert not any(
        f.subject == "awslambdaric" for f in audit(regressed, Budgets(), before).findings
    )


def test_small_changes_under_the_floor_or_percentage_are_not_regressions() -> None:
    budgets = Budgets(max_regression_pct=10, min_regression_ms=5)
    # +3 ms on tight runs: under the 5 ms floor.
    assert compare(10.0, 13.0, [10.0] * 5, [13.0] * 5, budgets).verdict == "same"
    # +8 ms on 200 ms: past the floor but only 4 %.
    assert compare(200.0, 208.0, [200.0] * 5, [208.0] * 5, budgets).verdict == "same"
    # Without per-run samples (an old baseline) the floor decides, and the result says so.
    old = compare(10.0, 30.0, [], [30.0] * 5, budgets)
    assert old.verdict == "grew" and not old.noise_judged


# -- comparability ------------------------------------------------------------------------------
def test_refuses_a_baseline_from_another_python_version() -> None:
    baseline = result([dependency("slowdep", [20.0] * 5)], INIT, python="3.12.4")
    with pytest.raises(IncomparableBaselineError) as caught:
        check_comparable(baseline, "3.11.7", "linux", "x86_64")
    assert caught.value.exit_code == EXIT_USAGE
    assert "Python 3.12.4" in caught.value.message and "Python 3.11.7" in caught.value.message
    with pytest.raises(IncomparableBaselineError):
        audit(result([], INIT), Budgets(), baseline)
    # A patch release is the same runtime on Lambda: compared, with a note.
    patch = result([dependency("slowdep", [20.0] * 5)], INIT, python="3.11.9")
    assert any("3.11.9" in n for n in audit(result([], INIT), Budgets(), patch).notes)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("platform", "darwin", "darwin"), ("architecture", "aarch64", "aarch64")],
)
def test_refuses_a_baseline_from_another_platform_or_architecture(
    field: str, value: str, words: str
) -> None:
    baseline = result([], INIT, **{field: value})
    with pytest.raises(IncomparableBaselineError, match=words):
        check_comparable(baseline, "3.11.7", "linux", "x86_64")


def test_audit_result_round_trips_through_json() -> None:
    before = result([dependency("slowdep", [20.0, 21, 19, 20, 20])], INIT)
    after = result([dependency("slowdep", [80.0, 81, 79, 80, 80])], [160.0, 161, 159, 160, 162])
    audited = audit(after, Budgets(max_init_ms=120), before, baseline_path="b.json")
    data = json.loads(json.dumps(audited.to_dict()))
    assert data["kind"] == "audit" and data["schema_version"] == 1 and data["ok"] is False
    assert AuditResult.from_dict(data).to_dict() == data
    assert data["baseline"]["imports"] == []  # the baseline's tree is not stored twice


# -- the command, end to end --------------------------------------------------------------------
HANDLER = """\
import slowdep

def lambda_handler(event, context):
    return {"ok": True}
"""


def build_function(root: Path, slow_ms: float, new_ms: float | None = None) -> Path:
    """A function whose dependencies busy-wait known times at import: the ground truth."""
    root.mkdir(parents=True, exist_ok=True)
    handler = HANDLER if new_ms is None else "import newdep\n" + HANDLER
    (root / "lambda_function.py").write_text(handler)
    install_distribution(root, "slowdep", {"slowdep/__init__.py": busy_module(slow_ms)})
    if new_ms is not None:
        install_distribution(root, "newdep", {"newdep/__init__.py": busy_module(new_ms)})
    return root


def run_audit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("audit", *args), capture_output=True, text=True, timeout=120, cwd=cwd
    )


FAST = ("--runs", "3")


@pytest.fixture(scope="module")
def saved_baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A function with slowdep at 30 ms, and its baseline written by --update-baseline."""
    root = build_function(tmp_path_factory.mktemp("audit") / "fn", 30)
    baseline = root.parent / "baseline.json"
    done = run_audit(str(root), *FAST, "--baseline", str(baseline), "--update-baseline")
    assert done.returncode == 0, done.stderr
    assert json.loads(baseline.read_text())["kind"] == "analyze"
    return root, baseline


def test_exit_0_against_its_own_baseline(saved_baseline: tuple[Path, Path]) -> None:
    root, baseline = saved_baseline
    # Two runs of the same function differ only by noise, which must not fail a merge.
    done = run_audit(str(root), *FAST, "--baseline", str(baseline), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["findings"] == []
    assert {c["name"] for c in data["changes"]} >= {"slowdep", "(function)"}


def test_exit_1_names_the_dependency_that_grew_and_the_new_one(
    saved_baseline: tuple[Path, Path], tmp_path: Path
) -> None:
    _, baseline = saved_baseline
    changed = build_function(tmp_path / "fn", 90, new_ms=40)
    done = run_audit(str(changed), *FAST, "--baseline", str(baseline), "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    findings = {(f["rule"], f["subject"]): f for f in json.loads(done.stdout)["findings"]}
    grew = findings[("dependency-regression", "slowdep")]
    assert abs(grew["baseline"] - 30) <= 6 and abs(grew["measured"] - 90) <= max(5, 18)
    new = findings[("new-dependency", "newdep")]
    assert abs(new["measured"] - 40) <= max(5, 8)
    # Whole-init growth (+100 ms) may or may not clear the noise of 3 runs on a loaded machine;
    # the culprits above are found either way.


def test_a_new_dependency_pulled_in_by_a_new_one_is_listed_under_it(
    saved_baseline: tuple[Path, Path], tmp_path: Path
) -> None:
    _, baseline = saved_baseline
    root = build_function(tmp_path / "fn", 30)
    (root / "lambda_function.py").write_text("import framedep\nimport otherdep\n" + HANDLER)
    # framedep (30 ms of its own) imports numdep (40 ms): one change, not two findings.
    install_distribution(
        root, "framedep", {"framedep/__init__.py": busy_module(30, imports="import numdep")}
    )
    install_distribution(root, "numdep", {"numdep/__init__.py": busy_module(40)})
    install_distribution(root, "otherdep", {"otherdep/__init__.py": busy_module(20)})
    done = run_audit(str(root), *FAST, "--baseline", str(baseline), "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(done.stdout)
    new = {f["subject"]: f for f in data["findings"] if f["rule"] == "new-dependency"}
    assert set(new) == {"framedep", "otherdep"}
    assert new["framedep"]["pulled_in"] == ["numdep"]
    assert abs(new["framedep"]["measured"] - 70) <= 14  # its inclusive time holds numdep's
    assert "numdep 1.0" in new["framedep"]["message"]
    changes = {c["name"]: c for c in data["changes"]}
    assert changes["numdep"]["status"] == "new"
    assert changes["numdep"]["pulled_in_by"] == "framedep"
    text = run_audit(str(root), *FAST, "--baseline", str(baseline))
    assert "new (with framedep)" in text.stdout


def test_exit_1_on_a_budget_from_pyproject_and_flags_win(tmp_path: Path) -> None:
    root = build_function(tmp_path / "project" / "functions" / "fn", 30)
    (tmp_path / "project" / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "demo"

            [tool.coldprof]
            max-dependency-ms = 10
            runs = 2
            """
        )
    )
    done = run_audit(str(root), "--format", "markdown")
    assert done.returncode == 1, done.stderr
    assert "<!-- coldprof-audit -->" in done.stdout
    assert "`max-dependency-ms`" in done.stdout and "**slowdep**" in done.stdout
    assert "pyproject.toml" in done.stdout
    done = run_audit(str(root), "--max-dependency-ms", "1000")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: no findings" in done.stdout


def test_exit_2_for_a_baseline_from_another_python(
    saved_baseline: tuple[Path, Path], tmp_path: Path
) -> None:
    root, baseline = saved_baseline
    data = json.loads(baseline.read_text())
    data["python"] = "3.9.18"
    other = tmp_path / "py39.json"
    other.write_text(json.dumps(data))
    done = run_audit(str(root), *FAST, "--baseline", str(other))
    assert done.returncode == 2
    assert "Python 3.9.18" in done.stderr and "not comparable" not in done.stdout
    assert "import times differ between Python versions" in done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("--baseline", "missing.json"),
        ("--update-baseline",),
        ("--max-init-ms", "-1"),
    ],
)
def test_exit_2_on_usage_errors(saved_baseline: tuple[Path, Path], args: tuple[str, ...]) -> None:
    root, _ = saved_baseline
    done = run_audit(str(root), *FAST, *args, cwd=root.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_exit_3_when_the_function_fails_at_init(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "lambda_function.py").write_text(
        "raise RuntimeError('no config for you')\n\ndef lambda_handler(event, context):\n"
        "    return 1\n"
    )
    done = run_audit(str(root), "--runs", "1", "--max-init-ms", "1")
    assert done.returncode == 3
    assert "no config for you" in done.stderr
