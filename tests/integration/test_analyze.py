"""analyze end to end: real cold starts of small packages whose imports busy-wait known times."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from coldprof.errors import FunctionInitError
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.results.analyze import AnalyzeResult
from conftest import busy_module, coldprof_cmd

HANDLER = """\
import helpers
import slowdep
import ns.a
import ns.b


def lambda_handler(event, context):
    import lazydep  # only inside the handler: not an init cost
    return {"ok": True}
"""

# Ground truth: what each module busy-waits at import, in ms.
TRUTH = {"slowdep": 60.0, "basedep": 30.0, "ns-a": 20.0, "ns-b": 40.0, "(function)": 25.0}


def within(measured: float, truth: float) -> bool:
    return abs(measured - truth) <= max(5.0, 0.2 * truth)


@pytest.fixture(scope="module")
def known_result(tmp_path_factory: pytest.TempPathFactory):
    from conftest import install_distribution

    root = tmp_path_factory.mktemp("known") / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text(HANDLER)
    (root / "helpers.py").write_text(busy_module(TRUTH["(function)"]))
    install_distribution(root, "basedep", {"basedep/__init__.py": busy_module(TRUTH["basedep"])})
    install_distribution(
        root, "slowdep", {"slowdep/__init__.py": busy_module(TRUTH["slowdep"], "import basedep")}
    )
    # One namespace package split across two distributions.
    install_distribution(root, "ns-a", {"ns/a.py": busy_module(TRUTH["ns-a"])})
    install_distribution(root, "ns-b", {"ns/b.py": busy_module(TRUTH["ns-b"])})
    install_distribution(root, "lazydep", {"lazydep.py": busy_module(50)})
    return analyze(AnalyzeRequest(path=root, runs=5, bytecode_runs=0))


def test_self_time_per_dependency_matches_ground_truth(known_result) -> None:
    for name, truth in TRUTH.items():
        dep = known_result.dependency(name)
        assert dep is not None, f"{name} missing from {[d.name for d in known_result.dependencies]}"
        assert within(dep.self_ms, truth), f"{name}: self {dep.self_ms} ms, truth {truth} ms"


def test_inclusive_time_includes_transitive_imports(known_result) -> None:
    slowdep = known_result.dependency("slowdep")
    truth = TRUTH["slowdep"] + TRUTH["basedep"]
    assert within(slowdep.inclusive_ms, truth), slowdep
    basedep = known_result.dependency("basedep")
    # Imported only by slowdep: its own first import is all it costs.
    assert within(basedep.inclusive_ms, TRUTH["basedep"])
    function = known_result.dependency("(function)")
    everything = sum(TRUTH.values())
    assert function.inclusive_ms >= everything - 10, function


def test_kinds_and_namespace_split(known_result) -> None:
    assert known_result.dependency("(function)").kind == "function"
    assert known_result.dependency("slowdep").kind == "third-party"
    assert known_result.dependency("(stdlib)").kind == "stdlib"
    assert known_result.dependency("awslambdaric").kind == "runtime"
    assert known_result.dependency("ns-a").modules >= 1
    assert known_result.dependency("ns-b").modules >= 1


def test_module_imported_only_in_handler_is_not_init(known_result) -> None:
    assert known_result.dependency("lazydep") is None
    modules = set()
    stack = list(known_result.imports)
    while stack:
        node = stack.pop()
        modules.add(node.module)
        stack.extend(node.children)
    assert "lazydep" not in modules
    assert {"lambda_function", "helpers", "slowdep", "basedep", "ns.a", "ns.b"} <= modules


def test_import_tree_nests_the_handlers_imports(known_result) -> None:
    handler = next(n for n in known_result.imports if n.module == "lambda_function")
    assert handler.dependency == "(function)"
    children = {c.module: c for c in handler.children}
    assert "slowdep" in children
    assert [c.module for c in children["slowdep"].children] == ["basedep"]
    assert children["slowdep"].dependency == "slowdep"


def test_init_stats_and_json_contract(known_result) -> None:
    init = known_result.init_ms
    assert len(init.samples) == 5
    assert init.min <= init.median <= init.p90 <= init.max
    # Init cannot be shorter than the busy-waits it contains.
    assert init.min >= sum(TRUTH.values())
    data = json.loads(json.dumps(known_result.to_dict()))
    for key in (
        "schema_version",
        "handler",
        "python",
        "runs",
        "init_ms",
        "package",
        "dependencies",
        "imports",
    ):
        assert key in data
    assert set(data["init_ms"]) >= {"median", "ci95", "p90", "min", "max", "samples"}
    low, high = data["init_ms"]["ci95"]
    assert init.min <= low <= init.median <= high <= init.max
    for saved in data["dependencies"]:
        for key in ("self_ms", "inclusive_ms"):
            low, high = saved[f"{key}_ci95"]
            assert low <= saved[key] <= high, saved
    assert set(data["package"]) >= {
        "unzipped_bytes",
        "zipped_bytes",
        "files",
        "has_bytecode",
        "bytecode_penalty_ms",
    }
    dep = next(d for d in data["dependencies"] if d["name"] == "slowdep")
    assert set(dep) >= {
        "name",
        "kind",
        "version",
        "self_ms",
        "inclusive_ms",
        "modules",
        "unzipped_bytes",
        "zipped_bytes",
    }
    assert dep["unzipped_bytes"] > 0 and dep["zipped_bytes"] > 0
    node = data["imports"][0]
    assert set(node) >= {"module", "dependency", "self_ms", "cumulative_ms", "children"}


def test_distribution_names_are_normalized(make_function) -> None:
    from conftest import install_distribution

    root = make_function("import my_pkg\n\ndef lambda_handler(e, c):\n    return 1\n")
    install_distribution(root, "My.Odd_Name", {"my_pkg/__init__.py": "X = 1\n"})
    result = analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0))
    assert result.dependency("my-odd-name") is not None


def test_bytecode_penalty_is_measured_for_a_package_without_pyc(make_function) -> None:
    # A large module with no .pyc: every cold start compiles it, as on read-only /var/task.
    big = "\n".join(f"def f{i}(x):\n    return [x * {i} for _ in range(3)]\n" for i in range(6000))
    root = make_function(
        "import big\n\ndef lambda_handler(e, c):\n    return 1\n", extra_files={"big.py": big}
    )
    result = analyze(AnalyzeRequest(path=root, runs=3, bytecode_runs=3))
    assert result.package.has_bytecode is False
    assert result.package.bytecode_penalty_ms is not None
    assert result.package.bytecode_penalty_ms > 30, result.package
    assert result.package.bytecode_penalty_within_noise is False
    assert result.package.bytecode_penalty_runs == 3
    low, high = result.package.bytecode_penalty_ci95 or (0.0, 0.0)
    assert 0 < low <= result.package.bytecode_penalty_ms <= high
    assert any("bytecode" in w for w in result.package.warnings)
    # The compiled copy records its task root, so the cache can drop it once the function is gone.
    from coldprof.build.cache import PYCACHE_SOURCE, cache_root

    recorded = {p.read_text() for p in (cache_root() / "pycache").glob(f"*/{PYCACHE_SOURCE}")}
    assert str(root) in recorded


# Each cold start counts itself; the first EVICT of them drop a data file from the page cache
# and read it back, so they read from disk as a first run on a cold machine does.
EVICTING_INIT = """\
import os
_count = os.environ["COUNTER"]
n = int(open(_count).read()) if os.path.exists(_count) else 0
open(_count, "w").write(str(n + 1))
if n < int(os.environ["EVICT"]):
    fd = os.open(os.environ["DATA"], os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)

def lambda_handler(e, c):
    return 1
"""


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux task I/O accounting")
@pytest.mark.parametrize(("evict", "discarded"), [(2, 2), (100, 3)])
def test_cold_starts_that_read_from_disk_are_run_again(
    make_function, tmp_path: Path, evict: int, discarded: int
) -> None:
    """Runs that read from disk are not counted, up to three; after that they are kept."""
    data = tmp_path / "data.bin"
    with data.open("wb") as f:
        f.write(os.urandom(4 * 2**20))
        f.flush()
        os.fsync(f.fileno())  # clean pages, so the function can drop them
    counter = tmp_path / "count"
    root = make_function(EVICTING_INIT)
    env = {"COUNTER": str(counter), "DATA": str(data), "EVICT": str(evict)}
    # No line-traced cold start: it would count itself too.
    request = AnalyzeRequest(path=root, runs=2, bytecode_runs=0, env=env, lines=False)
    result = analyze(request)
    assert result.runs == 2
    assert result.discarded_runs == discarded
    assert int(counter.read_text()) == 2 + discarded  # every cold start that ran
    assert result.discarded_reason is not None and "MiB from disk" in result.discarded_reason
    # Past three, the runs are counted, and the report says they read from disk.
    assert ("2 counted cold starts read from disk too" in result.discarded_reason) == (evict > 5)
    assert AnalyzeResult.from_dict(result.to_dict()).discarded_runs == discarded


def test_developer_site_packages_do_not_leak(make_function) -> None:
    # typer is installed beside coldprof, but not in the package: on Lambda it would not import.
    root = make_function("import typer\n\ndef lambda_handler(e, c):\n    return 1\n")
    with pytest.raises(FunctionInitError) as info:
        analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0))
    assert "No module named 'typer'" in info.value.function_output


def test_environment_is_lambdas_not_the_shell(make_function, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "developer-real-secret")
    monkeypatch.setenv("SHELL_ONLY_VARIABLE", "x")
    root = make_function(
        """\
        import os, sys
        assert os.environ["AWS_SECRET_ACCESS_KEY"] != "developer-real-secret"
        assert "SHELL_ONLY_VARIABLE" not in os.environ
        assert os.environ["LAMBDA_TASK_ROOT"] == os.getcwd()
        assert os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        assert os.environ["GREETING"] == "hello"
        assert sys.path.index(os.environ["LAMBDA_TASK_ROOT"]) < sys.path.index(
            os.environ["LAMBDA_RUNTIME_DIR"])
        def lambda_handler(e, c):
            return 1
        """
    )
    result = analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0, env={"GREETING": "hello"}))
    assert result.failure is None


# -- the CLI: exit codes and messages ------------------------------------------------------------
def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(coldprof_cmd(*args), capture_output=True, text=True, timeout=timeout)


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("analyze", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_directory_without_python_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("hi")
    done = run_cli("analyze", str(tmp_path))
    assert done.returncode == 2
    assert "holds no Python files" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_handler_lists_what_was_tried(tmp_path: Path) -> None:
    (tmp_path / "something.py").write_text("x = 1\n")
    done = run_cli("analyze", str(tmp_path))
    assert done.returncode == 2
    assert "lambda_function.lambda_handler" in done.stderr and "main.handler" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failing_inits_output_is_bounded_and_keeps_its_lines(make_function) -> None:
    filler = 3072 * 100  # bytes the function prints before it fails: 300 KiB
    root = make_function(
        "import sys\n"
        "for _ in range(3072):\n"
        "    print('x' * 99)\n"
        "def load():\n"
        "    raise ValueError('bad config: FOO')\n"
        "load()\n"
        "def lambda_handler(event, context):\n"
        "    return 1\n"
    )
    done = run_cli("analyze", str(root), "--runs", "1", "--format", "json")
    assert done.returncode == 3, done.stderr
    assert "\r" not in done.stderr
    shown = done.stderr.split("---- the function's output ----\n")[1].split("\n-----")[0]
    note, kept = shown.split("\n", 1)
    cut = int(
        re.search(r"the first ([\d,]+) bytes of the function's output were cut", note)[1].replace(
            ",", ""
        )
    )
    assert len(kept.encode()) <= 64 * 1024
    # All but the last 64 KiB of the filler is cut; the rest of the output (awslambdaric's
    # warning and the traceback) is a few KB, and the cut moves at most to the next line.
    assert filler - 64 * 1024 <= cut <= filler - 64 * 1024 + 4096 + 100
    lines = kept.splitlines()
    assert "Traceback (most recent call last):" in lines  # the traceback on its own lines
    assert any(line.strip() == "load()" for line in lines)
    assert lines[-1].strip() == "raise ValueError('bad config: FOO')"
    saved = json.loads(done.stdout)["failure"]["output"]
    assert saved == shown  # the saved result holds the same bounded text


def test_a_wrong_guess_is_refused_before_the_build(tmp_path: Path) -> None:
    # Were it built first, pip would fail on the requirement (exit 3) before the guess did.
    (tmp_path / "app.py").write_text("def main(event, context):\n    return 1\n")
    (tmp_path / "requirements.txt").write_text(f"{tmp_path / 'missing-1.0-py3-none-any.whl'}\n")
    done = run_cli("analyze", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "app.py defines no lambda_handler or handler" in done.stderr
    assert "--handler" in done.stderr and "app.main" in done.stderr
    assert "pip" not in done.stderr and "Traceback" not in done.stderr


def test_init_exception_exits_3_with_the_functions_traceback(make_function) -> None:
    root = make_function(
        "import json\nimport helpers\n\ndef lambda_handler(e, c):\n    return 1\n",
        extra_files={"helpers.py": "import textwrap\nraise ValueError('bad config: FOO')\n"},
    )
    done = run_cli("analyze", str(root), "--runs", "1", "--format", "json")
    assert done.returncode == 3
    assert "ValueError" in done.stderr and "bad config: FOO" in done.stderr
    assert "helpers.py" in done.stderr  # the function's own traceback
    assert "coldprof/" not in done.stderr.split("---- the function's output ----")[1]
    partial = json.loads(done.stdout)
    assert partial["failure"]["error_type"] == "ValueError"
    modules = [n["module"] for n in partial["imports"]]
    assert "lambda_function" in modules  # the tree gathered up to the failure


def test_init_exit_and_segfault_exit_3(make_function, tmp_path: Path) -> None:
    exits = make_function(
        "import sys\nsys.exit(4)\n\ndef lambda_handler(event, context):\n    return 1\n",
        name="exits",
    )
    done = run_cli("analyze", str(exits), "--runs", "1")
    assert done.returncode == 3
    assert "Traceback (most recent call last)" not in done.stderr.split("coldprof: error")[-1]
    crashes = make_function(
        "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n\n"
        "def lambda_handler(event, context):\n    return 1\n",
        name="crashes",
    )
    done = run_cli("analyze", str(crashes), "--runs", "1")
    assert done.returncode == 3
    assert "segv" in done.stderr.lower()


def test_init_past_the_limit_exits_3(make_function) -> None:
    root = make_function("import time\ntime.sleep(30)\n\ndef lambda_handler(e, c):\n    return 1\n")
    done = run_cli("analyze", str(root), "--runs", "1", "--init-limit", "1.5", timeout=60)
    assert done.returncode == 3
    assert "init limit" in done.stderr


def test_bad_env_option_is_a_usage_error(make_function) -> None:
    root = make_function()
    done = run_cli("analyze", str(root), "--env", "NOEQUALS")
    assert done.returncode == 2
    assert "KEY=VALUE" in done.stderr


def test_table_output_and_report_file(make_function, tmp_path: Path) -> None:
    root = make_function("import json\n\ndef lambda_handler(e, c):\n    return 1\n")
    out = tmp_path / "out" / "report.json"
    done = run_cli(
        "analyze", str(root), "--runs", "2", "--bytecode-runs", "0", "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    # The report went to the file: the terminal gets one line that sums it up.
    assert done.stdout.count("\n") == 1 and "inclusive ms" not in done.stdout
    saved = json.loads(out.read_text())
    assert saved["runs"] == 2
    median, (low, high) = saved["init_ms"]["median"], saved["init_ms"]["ci95"]
    assert f"init median {median:,.1f} ms [{low:,.1f}, {high:,.1f}]" in done.stdout
    assert f"wrote {out}" in done.stdout


def test_quiet_prints_nothing_and_an_unknown_extension_is_a_usage_error(
    make_function, tmp_path: Path
) -> None:
    root = make_function("import json\n\ndef lambda_handler(e, c):\n    return 1\n")
    done = run_cli("analyze", str(root), "--runs", "2", "--bytecode-runs", "0", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    out = tmp_path / "report.xml"
    done = run_cli("analyze", str(root), "--runs", "2", "-o", str(out))
    assert done.returncode == 2
    assert "'.xml'" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_failed_init_writes_the_partial_report_saying_so(make_function, tmp_path: Path) -> None:
    root = make_function(
        "import json\nraise SystemExit(1)\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    out = tmp_path / "partial.md"
    done = run_cli(
        "analyze", str(root), "--runs", "1", "--output", str(out), "--format", "markdown"
    )
    assert done.returncode == 3
    text = out.read_text()
    assert "init failed" in text and "lambda_function" in text


def test_unwritable_output_is_a_usage_error(make_function, tmp_path: Path) -> None:
    root = make_function()
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_cli(
        "analyze",
        str(root),
        "--runs",
        "1",
        "--bytecode-runs",
        "0",
        "--output",
        str(blocker / "x.json"),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_relative_path_attributes_the_functions_own_code(make_function) -> None:
    root = make_function("import json\n\ndef lambda_handler(e, c):\n    return 1\n")
    done = subprocess.run(
        coldprof_cmd(
            "analyze", root.name, "--runs", "1", "--bytecode-runs", "0", "--format", "json"
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root.parent,
    )
    assert done.returncode == 0, done.stderr
    names = {d["name"]: d["kind"] for d in json.loads(done.stdout)["dependencies"]}
    assert names.get("(function)") == "function"
    assert "(unresolved)" not in names


def test_runs_auto_stops_at_the_precision_or_max_runs_and_says_which(make_function) -> None:
    from coldprof.stats import relative_half_width

    root = make_function(
        "import slowdep\n\ndef lambda_handler(e, c):\n    return 1\n",
        distributions={"slowdep": {"slowdep/__init__.py": busy_module(30)}},
    )
    request = AnalyzeRequest(path=root, runs=6, auto_runs=True, max_runs=9, bytecode_runs=0)
    result = analyze(request)
    assert 6 <= result.runs <= 9
    reach = relative_half_width(result.init_ms.samples)
    assert reach is not None and result.runs_stopped_by is not None
    if "--max-runs" in result.runs_stopped_by:
        assert result.runs == 9
    else:
        # It stopped at the first run count where the interval came within ±5 %.
        assert reach <= 0.05
        assert f"after {result.runs} runs" in result.runs_stopped_by
        earlier = relative_half_width(result.init_ms.samples[:-1])
        assert result.runs == 6 or (earlier is not None and earlier > 0.05)
    assert f"±{reach * 100:.1f} %" in result.runs_stopped_by
    low, high = result.init_ms.ci95 or (0.0, 0.0)
    assert low <= result.init_ms.median <= high


def test_runs_accepts_auto_and_refuses_words(make_function) -> None:
    root = make_function()
    done = run_cli("analyze", str(root), "--runs", "lots")
    assert done.returncode == 2 and "'auto'" in done.stderr
