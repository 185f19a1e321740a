"""`coldprof remote` on a project's function and with --env/--layer, against the local emulator."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from coldprof.emulator.server import LocalLambda
from coldprof.remote.request import RemoteRequest
from coldprof.remote.sweep import sweep
from conftest import coldprof_cmd

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
QUICK = ("--local", "--memory", "256", "--samples", "1", "--warm", "0", "--format", "json")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("remote", *args), capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with LocalLambda(update_seconds=0.2) as url:
        yield url


@pytest.fixture(scope="module")
def lam(endpoint: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60, connect_timeout=5),
    )


def test_a_project_function_deploys_with_its_environment_and_local_layer() -> None:
    # OrdersFunction's init reads the template's variables and imports the SharedLayer's
    # module: a cold start that succeeds proves both reached the deployed function.
    done = run_cli(str(PROJECTS / "sam_app"), "--function", "OrdersFunction", *QUICK)
    assert done.returncode == 0, done.stderr
    (function,) = json.loads(done.stdout)["functions"]
    (tier,) = function["tiers"]
    assert tier["cold"] and tier["cold"][0]["init_ms"] > 0
    assert function["deployed"] and function["deleted"]


def test_a_project_with_several_functions_needs_one_named() -> None:
    done = run_cli(str(PROJECTS / "sam_app"), *QUICK)
    assert done.returncode == 2
    assert "--function" in done.stderr and "Traceback" not in done.stderr


def test_env_option_reaches_a_deployed_function_directory(tmp_path: Path) -> None:
    source = tmp_path / "needs_env"
    source.mkdir()
    (source / "lambda_function.py").write_text(
        "import os\n\nREGION_NAME = os.environ['ORDERS_REGION']\n\n"
        "def lambda_handler(event, context):\n    return REGION_NAME\n"
    )
    without = run_cli(str(source), *QUICK)
    assert without.returncode == 3  # its init fails on the missing variable
    done = run_cli(str(source), *QUICK, "--env", "ORDERS_REGION=eu-west-1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["functions"][0]["tiers"][0]["cold"][0]["init_ms"] > 0
    assert "eu-west-1" not in done.stdout + done.stderr  # a value is never written down


def test_layer_option_is_folded_into_the_deployed_package(tmp_path: Path) -> None:
    source = tmp_path / "needs_layer"
    source.mkdir()
    (source / "lambda_function.py").write_text(
        "import orders_sdk\n\ndef lambda_handler(event, context):\n    return orders_sdk.X\n"
    )
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "orders_sdk.py").write_text("X = 1\n")
    done = run_cli(str(source), *QUICK, "--layer", str(layer))
    assert done.returncode == 0, done.stderr


def test_deployed_configuration_carries_template_env_overrides_and_arn_layers(
    endpoint: str, lam: Any
) -> None:
    result = sweep(
        RemoteRequest(
            paths=(PROJECTS / "sam_app",),
            function="ReportsFunction",
            env={"SERVICE": "overridden"},
            memory_tiers=(256,),
            samples=1,
            warm=0,
            endpoint_url=endpoint,
            keep=True,
        )
    )
    (function,) = result.functions
    try:
        config = lam.get_function_configuration(FunctionName=function.name)
        variables = config["Environment"]["Variables"]
        assert variables["STAGE"] == "test"  # from the template's Globals
        assert variables["SERVICE"] == "overridden"  # --env wins over the template
        assert [layer["Arn"] for layer in config["Layers"]] == [
            "arn:aws:lambda:us-east-1:017000801446:layer:"
            "AWSLambdaPowertoolsPythonV3-python312-arm64:7"
        ]
        assert config["Handler"] == "reports.handler"
    finally:
        lam.delete_function(FunctionName=function.name)


def test_env_and_layer_are_refused_with_arn() -> None:
    done = run_cli(
        "--arn", "arn:aws:lambda:us-east-1:123456789012:function:f", "--env", "A=1",
        "--endpoint-url", "http://127.0.0.1:9", "--yes",
    )  # fmt: skip
    assert done.returncode == 2
    assert "function directories" in done.stderr
