"""Folders Lambda's filesystem lays over the host's (/var, /tmp, /opt): a function, a layer or
coldprof's cache there still gets its cold starts, from read-only copies, and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coldprof.runner import lambda_fs
from conftest import REPO, coldprof_cmd

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
QUICK = ("--runs", "1", "--bytecode-runs", "0")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd(*args), capture_output=True, text=True, timeout=600, env=env
    )


def _folder_under(root: str) -> Path:
    """A fresh folder under ``root`` (one of the folders Lambda's filesystem replaces)."""
    import tempfile

    if not os.access(root, os.W_OK):
        pytest.skip(f"{root} is not writable here")
    return Path(tempfile.mkdtemp(prefix="coldprof-test-", dir=root))


@pytest.fixture
def outside() -> Iterator[Callable[[str], Path]]:
    made: list[Path] = []

    def under(root: str) -> Path:
        folder = _folder_under(root)
        made.append(folder)
        return folder

    yield under
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_local_layer_in_tmp_is_not_hidden_by_lambdas_tmp(
    outside: Callable[[str], Path],
) -> None:
    # The layer's python/ links to the project's folder: under Lambda's fresh /tmp the link
    # would point at nothing, and the function's `import shared_util` failed (exit 3).
    project = Path(shutil.copytree(PROJECTS / "sam_app", outside("/tmp") / "sam_app"))
    done = run("analyze", str(project), *QUICK, "--parameter", "TableName=t", "--format", "json")
    assert done.returncode == 0, done.stderr
    functions = json.loads(done.stdout)["functions"]
    for entry in functions:
        result = entry["result"]
        assert result["failure"] is None
        if entry["logical_id"] == "OrdersFunction":  # the function that imports the layer
            assert any("shared_util" == d["name"] for d in result["dependencies"])
        if lambda_fs.namespace_refusal() is None:
            assert result["filesystem"] == "copy"
            assert any(f"{project}/layers/shared is under /tmp" in n for n in result["notes"])


def test_a_function_under_var_runs_from_a_copy_instead_of_crashing(
    outside: Callable[[str], Path],
) -> None:
    # Lambda's filesystem lays a fresh /var before mounting the package at /var/task: a package
    # under /var (a Jenkins workspace in /var/lib) was gone by then, and coldprof crashed (exit 4).
    sample = REPO / "sample_functions" / "minimal"
    function = Path(shutil.copytree(sample, outside("/var/tmp") / "fn"))
    done = run("analyze", str(function), *QUICK, "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["failure"] is None and result["init_ms"]["median"] > 0
    if lambda_fs.namespace_refusal() is None:
        assert result["filesystem"] == "copy"
        assert any(f"{function} is under /var" in n for n in result["notes"])


def test_the_emulator_runs_functions_with_its_cache_under_var(
    outside: Callable[[str], Path],
) -> None:
    # The runtime directory lives in the cache; under /var it was gone by the time Lambda's
    # filesystem mounted it, and every invoke failed (ServiceException, exit 3).
    env = {**os.environ, "COLDPROF_CACHE_DIR": str(outside("/var/tmp"))}
    function = REPO / "sample_functions" / "minimal"
    done = run(
        "remote", str(function), "--local", "--memory", "128", "--samples", "1", "--yes",
        "--format", "json", env=env,
    )
    assert done.returncode == 0, done.stderr
    tier = json.loads(done.stdout)["functions"][0]["tiers"][0]
    assert tier["failures"] == [] and tier["error"] is None and len(tier["cold"]) == 1
