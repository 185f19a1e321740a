"""audit --base: a function in a real git repository against itself at a ref, in pairs."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from coldprof.audit.base import measure_against_base
from coldprof.audit.core import audit
from coldprof.audit.noise import compare_paired
from coldprof.build.gitref import function_at
from coldprof.errors import UsageError
from coldprof.measure.analyze import AnalyzeRequest
from coldprof.results.audit import Budgets
from conftest import busy_module, coldprof_cmd, install_distribution

HANDLER = """\
import json
import os

def lambda_handler(event, context):
    return {"ok": True}
"""
RUNS = ("--runs", "6")
# Busy-waiting 60 ms at import is the ground truth the audit must find.
SLOW_MS = 60


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding one committed function under functions/fn."""
    root = tmp_path / "repo"
    function = root / "functions" / "fn"
    function.mkdir(parents=True)
    (function / "lambda_function.py").write_text(HANDLER)
    git(root, "init", "-q")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a function")
    return root


def add_slow_dependency(function: Path) -> None:
    """The change under review: a new distribution that costs SLOW_MS at import."""
    install_distribution(function, "slowdep", {"slowdep/__init__.py": busy_module(SLOW_MS)})
    (function / "lambda_function.py").write_text("import slowdep\n" + HANDLER)


def run_audit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("audit", "functions/fn", *args),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo,
    )


def status_of(repo: Path) -> str:
    return git(repo, "status", "--porcelain")


# -- the CLI on a git fixture -------------------------------------------------------------------
def test_unchanged_function_against_head_is_exit_0(repo: Path) -> None:
    before = status_of(repo)
    done = run_audit(repo, "--base", "HEAD", *RUNS, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["findings"] == []
    assert data["base_ref"] == "HEAD" and data["base_commit"] == git(repo, "rev-parse", "HEAD")
    # Judged pair by pair: both sides have the same runs, and the init change has its interval.
    assert data["baseline"]["runs"] == data["result"]["runs"] == 6
    low, high = data["init"]["ci95"]
    assert low <= data["init"]["paired_ms"] <= high
    # The user's checkout is untouched: no worktree, no new files.
    assert status_of(repo) == before
    assert git(repo, "worktree", "list").count("\n") == 0


def test_a_new_60_ms_dependency_is_exit_1_naming_it(repo: Path) -> None:
    add_slow_dependency(repo / "functions" / "fn")
    done = run_audit(repo, "--base", "HEAD", *RUNS, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(done.stdout)
    findings = {(f["rule"], f["subject"]): f for f in data["findings"]}
    new = findings[("new-dependency", "slowdep")]
    assert abs(new["measured"] - SLOW_MS) <= 15, new
    assert new["file"] == "lambda_function.py" and new["line"] == 1
    change = next(c for c in data["changes"] if c["name"] == "slowdep")
    low, high = change["inclusive_ms"]["ci95"]
    assert low > 0 and abs(change["inclusive_ms"]["paired_ms"] - SLOW_MS) <= 15


def test_format_github_prints_an_error_for_the_culprit(repo: Path) -> None:
    add_slow_dependency(repo / "functions" / "fn")
    done = run_audit(repo, "--base", "HEAD", *RUNS, "--format", "github")
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    culprit = [line for line in errors if "slowdep" in line.split("::")[1]]
    assert culprit, done.stdout
    # At the import, as a path from where coldprof ran (the repository root).
    assert "file=functions/fn/lambda_function.py,line=1," in culprit[0]
    assert all(line.startswith("::") for line in done.stdout.splitlines() if line)


def test_a_function_new_since_the_ref_is_held_to_budgets_only(repo: Path) -> None:
    other = repo / "functions" / "other"
    other.mkdir()
    (other / "lambda_function.py").write_text(HANDLER)
    done = subprocess.run(
        coldprof_cmd("audit", "functions/other", "--base", "HEAD", *RUNS, "--max-init-ms", "5000"),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "new since then" in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--base", "no-such-ref"), "no such commit"),
        (("--base", "HEAD", "--baseline", "b.json"), "pick one"),
        (("--base", "HEAD", "--runs", "many"), "'auto'"),
    ],
)
def test_bad_base_usage_is_exit_2(repo: Path, args: tuple[str, ...], words: str) -> None:
    done = run_audit(repo, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr


def test_base_outside_a_git_repository_is_exit_2(tmp_path: Path) -> None:
    function = tmp_path / "fn"
    function.mkdir()
    (function / "lambda_function.py").write_text(HANDLER)
    # The tests' temporary folders may sit inside a checkout (conftest's basetemp): git must
    # not look above this one.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    done = subprocess.run(
        coldprof_cmd("audit", str(function), "--base", "HEAD"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2 and "not inside a git repository" in done.stderr


# -- the pieces ---------------------------------------------------------------------------------
def test_function_at_unpacks_the_committed_files_and_removes_them(repo: Path) -> None:
    function = repo / "functions" / "fn"
    (function / "lambda_function.py").write_text("# edited, not committed\n")
    (function / "untracked.py").write_text("x = 1\n")
    with function_at(function, "HEAD") as checkout:
        assert checkout is not None
        assert (checkout.path / "lambda_function.py").read_text() == HANDLER
        assert not (checkout.path / "untracked.py").exists()
        unpacked = checkout.path
    assert not unpacked.exists()
    assert (function / "lambda_function.py").read_text() == "# edited, not committed\n"


def test_function_at_a_ref_before_the_function_existed_is_none(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "functions" / "late").mkdir()
    (repo / "functions" / "late" / "lambda_function.py").write_text(HANDLER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "another")
    with function_at(repo / "functions" / "late", first) as checkout:
        assert checkout is None
    with pytest.raises(UsageError, match="no such commit"):
        with function_at(repo / "functions" / "fn", "v9.9"):
            pass


def test_interleaved_pairs_keep_both_sides_apart_with_the_same_requirements(
    repo: Path,
) -> None:
    """Base and head share requirements.txt (so one build cache key): each must still run its
    own code. The base's marker module costs nothing; the head's busy-waits."""
    function = repo / "functions" / "fn"
    (function / "requirements.txt").write_text("")
    (function / "marker.py").write_text("")
    (function / "lambda_function.py").write_text("import marker\n" + HANDLER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "marker")
    (function / "marker.py").write_text(busy_module(40))
    paired = measure_against_base(AnalyzeRequest(path=function, runs=6, bytecode_runs=0), "HEAD")
    assert paired.base is not None
    assert paired.base.runs == paired.head.runs == 6
    audited = audit(paired.head, Budgets(), paired.base, base_ref="HEAD")
    function_change = next(c for c in audited.changes if c.name == "(function)")
    assert function_change.status == "grew", function_change
    assert abs(function_change.self_ms.change - 40) <= 12
    assert textwrap.dedent(HANDLER) in (function / "lambda_function.py").read_text()


def test_paired_judgement_needs_its_interval_clear_of_zero_and_the_floor() -> None:
    budgets = Budgets()
    same = compare_paired([100, 140, 90, 120, 110, 95], [101, 139, 92, 118, 111, 96], budgets)
    assert same.verdict == "same" and same.ci95 is not None
    assert same.ci95[0] <= same.paired_ms <= same.ci95[1]  # type: ignore[operator]
    # Drift moves both sides of each pair: the +20 ms change stands out all the same.
    drifting = [100.0, 160, 90, 140, 110, 200]
    grown = compare_paired(drifting, [x + 20 for x in drifting], budgets)
    assert grown.verdict == "grew" and grown.paired_ms == 20
    # Under the 5 ms floor: same, however consistent.
    tiny = compare_paired(drifting, [x + 3 for x in drifting], budgets)
    assert tiny.verdict == "same"
    # A dependency only the head imports: the base side is 0 in every run.
    new = compare_paired((), [60.0, 61, 59, 60, 62, 60], budgets)
    assert new.verdict == "grew" and new.before == 0
