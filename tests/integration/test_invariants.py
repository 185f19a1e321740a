"""The analyze invariants on real results: layers, shipped SDKs, and the sample functions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from coldprof.build.runtime_provided import runtime_provided
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.measure.distributions import FUNCTION, Attribution, SizeCache
from conftest import SAMPLES, busy_module, coldprof_cmd, install_distribution
from invariant_checks import problems


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
