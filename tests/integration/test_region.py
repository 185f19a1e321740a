"""AWS conventions: the region and profile come from where the AWS CLI and SDKs look for them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from coldprof.aws.connection import Connection
from conftest import coldprof_cmd


def run(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        coldprof_cmd(*args), capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def tiny_fn(tmp_path: Path) -> Path:
    source = tmp_path / "tiny_fn"
    source.mkdir()
    (source / "lambda_function.py").write_text(
        "def lambda_handler(event, context):\n    return 1\n"
    )
    return source


def test_aws_region_gives_arns_in_that_region_from_the_emulator(
    tiny_fn: Path, tmp_path: Path
) -> None:
    """AWS_REGION beats AWS_DEFAULT_REGION, even with a loopback endpoint (LocalStack keeps
    functions per region); the emulator builds ARNs in the region the client signed for."""
    env = {**os.environ, "AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-west-2"}
    out = tmp_path / "remote.json"
    args = ["remote", str(tiny_fn), "--local", "--memory", "128", "--samples", "1"]
    done = run([*args, "--warm", "0", "--yes", "--output", str(out)], env)
    assert done.returncode == 0, done.stderr
    (function,) = json.loads(out.read_text())["functions"]
    assert function["arn"].startswith("arn:aws:lambda:eu-west-3:"), function["arn"]


@pytest.mark.parametrize(
    ("option", "environment", "expected"),
    [
        (
            "ap-south-1",
            {"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-west-2"},
            "ap-south-1",
        ),
        (None, {"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-3"),
        (None, {"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        (None, {}, None),  # left to the profile, then (for an emulator only) us-east-1
    ],
)
def test_region_order(
    monkeypatch: pytest.MonkeyPatch,
    option: str | None,
    environment: dict[str, str],
    expected: str | None,
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    connection = Connection.from_options(option, None, "http://127.0.0.1:9")
    assert connection.region == expected


def test_the_profile_region_comes_before_us_east_1_on_a_loopback_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coldprof.aws.lambda_api import LambdaApi

    config = tmp_path / "config"
    config.write_text("[profile local]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with_profile = LambdaApi(Connection.from_options(None, "local", "http://127.0.0.1:9"))
    assert with_profile.client.meta.region_name == "sa-east-1"
    without = LambdaApi(Connection.from_options(None, None, "http://127.0.0.1:9"))
    assert without.client.meta.region_name == "us-east-1"


def test_an_unknown_profile_from_the_environment_is_named(tiny_fn: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n")
    env = {**os.environ, "AWS_PROFILE": "nope", "AWS_CONFIG_FILE": str(config)}
    done = run(["remote", "--arn", "orders", "--endpoint-url", "http://127.0.0.1:9"], env, 60)
    assert done.returncode == 2, done.stderr
    assert "AWS_PROFILE=nope: no such AWS profile" in done.stderr
    assert "None" not in done.stderr
    done = run(["remote", "--arn", "orders", "--profile", "nope", "--yes"], env, 60)
    assert done.returncode == 2, done.stderr
    assert "--profile nope: no such AWS profile" in done.stderr
