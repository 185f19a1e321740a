"""The analyze invariants: each check fails when it should, and real results keep them all."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from coldprof.build.runtime_provided import runtime_provided
from coldprof.measure import importtime
from coldprof.measure.aggregate import dependency_runs
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.measure.distributions import FUNCTION, STDLIB, Attribution, SizeCache
from coldprof.measure.invariants import RunAttribution, violations
from conftest import SAMPLES, busy_module, coldprof_cmd, install_distribution
from factories import dependency as dep
from invariant_checks import problems


@pytest.fixture
def attribution(tmp_path: Path) -> Attribution:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text("")
    install_distribution(root, "slowdep", {"slowdep/__init__.py": ""})
    (tmp_path / "runtime").mkdir()
    return Attribution(root, [], tmp_path / "runtime")


def test_inclusive_is_the_sum_of_the_self_times_below(attribution: Attribution) -> None:
    """CPython rounds each column up on its own: three 1 µs imports under a 2 µs cumulative.
    Inclusive used to take the cumulative column, and came out below self."""
    trace = importtime.parse(
        "import time: self [us] | cumulative | imported package\n"
        "import time:         1 |          1 |   json.scanner\n"
        "import time:         1 |          1 |   json.decoder\n"
        "import time:         1 |          2 | json\n"
    )
    self_ms, inclusive_ms, modules = dependency_runs(trace, attribution)
    assert self_ms[STDLIB] == pytest.approx(0.003)
    assert inclusive_ms[STDLIB] == pytest.approx(0.003)
    assert modules[STDLIB] == {"json", "json.scanner", "json.decoder"}


def test_a_failed_import_is_charged_to_its_importer_but_is_none_of_its_modules(
    attribution: Attribution,
) -> None:
    trace = importtime.parse(
        "import time:        40 |         40 |   no_such_compressor\n"
        "import time:       100 |        140 | slowdep\n"
        "import time:        30 |         30 |   no_such_compressor\n"
        "import time:        10 |         40 | app\n"
    )
    self_ms, _, modules = dependency_runs(trace, attribution)
    assert self_ms["slowdep"] == pytest.approx(0.14)
    assert self_ms[FUNCTION] == pytest.approx(0.04)
    assert modules["slowdep"] == {"slowdep"}
    assert modules[FUNCTION] == {"app"}


def test_a_consistent_result_breaks_nothing(attribution: Attribution) -> None:
    costs = [dep("slowdep", [10.0]), dep(FUNCTION, [2.0], kind="function")]
    runs = [RunAttribution({"slowdep": {"slowdep"}, FUNCTION: {"app"}}, 12.0)]
    assert violations(costs, runs, attribution, function_files={"app.py"}) == ()


def test_inclusive_below_self_is_reported(attribution: Attribution) -> None:
    costs = [dep("slowdep", [10.0], inclusive_samples=[9.0])]
    runs = [RunAttribution({"slowdep": {"slowdep"}}, 10.0)]
    assert violations(costs, runs, attribution) == ("slowdep: inclusive 9.0 ms < self 10.0 ms",)


def test_a_module_in_two_dependencies_is_reported(attribution: Attribution) -> None:
    costs = [dep("slowdep", [5.0, 5.0]), dep("other", [5.0, 5.0])]
    runs = [
        RunAttribution({"slowdep": {"slowdep", "shared"}, "other": set()}, 10.0),
        RunAttribution({"slowdep": {"slowdep"}, "other": {"shared"}}, 10.0),
    ]
    (problem,) = violations(costs, runs, attribution)
    assert problem == "module shared attributed to 2 dependencies: other, slowdep"


def test_an_installed_module_counted_as_the_functions_is_reported(
    attribution: Attribution,
) -> None:
    root = attribution.task_root
    (root / "vendored.py").write_text("")  # pip put it there: not one of the function's files
    costs = [dep(FUNCTION, [3.0], kind="function")]
    runs = [RunAttribution({FUNCTION: {"app", "slowdep", "vendored"}}, 3.0)]
    found = violations(costs, runs, attribution, function_files={"app.py"})
    assert len(found) == 2, found
    assert "module slowdep" in found[0] and "slowdep is installed" in found[0]
    assert "module vendored" in found[1] and "pip installed it" in found[1]


def test_self_times_that_do_not_add_up_are_reported_per_run(attribution: Attribution) -> None:
    costs = [dep("slowdep", [10.0, 10.0])]
    ok = RunAttribution({"slowdep": {"slowdep"}}, 10.5)
    off = RunAttribution({"slowdep": {"slowdep"}}, 12.0)
    assert violations(costs, [ok, ok], attribution) == ()
    (problem,) = violations(costs, [ok, off], attribution)
    assert problem.startswith("run 2: the dependencies' self times add up to 10.0 ms")


def test_a_layers_module_without_dist_info_is_not_the_functions(
    make_function, tmp_path: Path
) -> None:
    """Code copied into a layer with no dist-info (a common hand-made layer) is installed, not
    the function's: it is named by its top-level package."""
    fn = make_function("import sharedlib\n\ndef lambda_handler(event, context):\n    return 1\n")
    layer = tmp_path / "layer"
    (layer / "python" / "sharedlib").mkdir(parents=True)
    (layer / "python" / "sharedlib" / "__init__.py").write_text(busy_module(20))
    result = analyze(AnalyzeRequest(path=fn, runs=2, bytecode_runs=0, layers=(layer,)))
    shared = result.dependency("sharedlib")
    assert shared is not None and shared.kind == "third-party", result.dependencies
    assert shared.self_ms >= 15
    assert result.dependency(FUNCTION).self_ms < 15
    assert result.attribution_problems == ()


def test_boto3_shipped_in_the_package_is_weighed(tmp_path: Path) -> None:
    site = tmp_path / "fn"
    botocore_data = {"botocore/__init__.py": "", "botocore/data/s3.json": "x" * 300_000}
    install_distribution(site, "botocore", botocore_data, version="1.35.99")
    install_distribution(site, "boto3", {"boto3/__init__.py": ""}, version="1.35.90")
    install_distribution(site, "s3transfer", {"s3transfer/__init__.py": ""}, version="0.10.4")
    (tmp_path / "runtime").mkdir()
    install_distribution(tmp_path / "runtime", "boto3", {"boto3/__init__.py": ""})
    attribution = Attribution(site, [], tmp_path / "runtime")
    found = runtime_provided(attribution.distributions, SizeCache(None))
    assert found is not None
    assert found.distributions == ("boto3 1.35.90", "botocore 1.35.99", "s3transfer 0.10.4")
    assert found.weight.unzipped_bytes > 300_000
    assert "(0.3 MB unzipped" in found.warning()


def test_s3transfer_alone_or_the_runtimes_own_sdk_is_no_warning(tmp_path: Path) -> None:
    site, runtime = tmp_path / "fn", tmp_path / "runtime"
    install_distribution(site, "s3transfer", {"s3transfer/__init__.py": ""})
    install_distribution(runtime, "boto3", {"boto3/__init__.py": ""})
    install_distribution(runtime, "botocore", {"botocore/__init__.py": ""})
    attribution = Attribution(site, [], runtime)
    assert runtime_provided(attribution.distributions, SizeCache(None)) is None


@pytest.mark.parametrize("sample", ["minimal", "boto3_client", "heavy_deps", "lazy_deps"])
def test_the_samples_keep_every_invariant(sample: str, tmp_path: Path) -> None:
    output = tmp_path / f"{sample}.json"
    args = ("analyze", str(SAMPLES / sample), "--runs", "3", "--bytecode-runs", "0")
    done = subprocess.run(
        coldprof_cmd(*args, "--format", "json", "--output", str(output)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(output.read_text())
    assert problems(result, SAMPLES / sample) == []
    assert len(result["import_ms"]["samples"]) == 3
