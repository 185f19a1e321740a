"""Real stacks, built and analyzed by the real CLI: exit 0, the right culprit, the invariants.

`make corpus` runs this (`make test` does not: the first build downloads about 150 MB). Builds
are cached in .cache/corpus, keyed by each requirements.txt, so later runs only measure.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, coldprof_cmd
from invariant_checks import problems

STACKS = Path(__file__).resolve().parent / "stacks"
CACHE = REPO / ".cache" / "corpus"

# Each stack's top third-party dependency by inclusive ms: the framework the handler imports
# first, which pulls in the rest (so it is ahead of the runner-up by construction, not by luck).
EXPECTED_TOP = {
    "boto3_pinned": "boto3",
    "django_minimal": "django",
    "fastapi_mangum": "fastapi",
    "flask_apig_wsgi": "flask",
    "langchain_prompt": "langchain-core",
    "pandas_csv": "pandas",
    "pillow_thumbnail": "pillow",
    "powertools_api": "aws-lambda-powertools",
    "pydantic_v2": "pydantic",
    "requests_http": "requests",
    "sklearn_model": "scikit-learn",
    "sqlalchemy_v2": "sqlalchemy",
    "stripe_api": "stripe",
}


def test_every_stack_has_an_expectation() -> None:
    assert sorted(p.name for p in STACKS.iterdir() if p.is_dir()) == sorted(EXPECTED_TOP)


def analyze(stack: str, output: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLDPROF_CACHE_DIR": str(CACHE)}
    # Few runs: the corpus checks that real packages go through, not their exact times.
    args = ["analyze", str(STACKS / stack), "--runs", "3", "--bytecode-runs", "0"]
    return subprocess.run(
        coldprof_cmd(*args, "--format", "json", "--output", str(output)),
        capture_output=True,
        text=True,
        env=env,
        timeout=900,  # a first build of scikit-learn downloads ~100 MB
    )


@pytest.mark.parametrize("stack", sorted(EXPECTED_TOP))
def test_stack(stack: str, tmp_path: Path) -> None:
    output = tmp_path / f"{stack}.json"
    done = analyze(stack, output)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    result = json.loads(output.read_text())
    third_party = [d for d in result["dependencies"] if d["kind"] == "third-party"]
    top = max(third_party, key=lambda d: d["inclusive_ms"])
    assert top["name"] == EXPECTED_TOP[stack], [(d["name"], d["inclusive_ms"]) for d in third_party]
    assert problems(result, STACKS / stack) == []
    # Nothing the function shipped from requirements.txt counts as the function's own.
    function = next(d for d in result["dependencies"] if d["kind"] == "function")
    assert function["name"] == "(function)"
    if stack != "boto3_pinned":
        assert result["package"]["runtime_provided"] == []


def test_boto3_in_requirements_is_reported_with_its_bytes(tmp_path: Path) -> None:
    """boto3 pinned in requirements.txt ships the SDK the runtime already has: say so, in
    every format, with what it weighs."""
    saved = tmp_path / "boto3.json"
    assert analyze("boto3_pinned", saved).returncode == 0
    package = json.loads(saved.read_text())["package"]
    assert package["runtime_provided"] == ["boto3 1.35.90", "botocore 1.35.99", "s3transfer 0.10.4"]
    # botocore's data files alone are well over 15 MB unzipped.
    assert package["runtime_provided_unzipped_bytes"] > 15 * 2**20
    assert 0 < package["runtime_provided_zipped_bytes"] < package["runtime_provided_unzipped_bytes"]
    mb = f"{package['runtime_provided_unzipped_bytes'] / 2**20:.1f} MB unzipped"
    (warning,) = [w for w in package["warnings"] if "runtime already provides" in w]
    assert mb in warning

    table = subprocess.run(coldprof_cmd("report", str(saved)), capture_output=True, text=True)
    markdown = tmp_path / "boto3.md"
    subprocess.run(coldprof_cmd("report", str(saved), "--output", str(markdown)), check=True)
    for text in (table.stdout, markdown.read_text()):
        assert "boto3 1.35.90, botocore 1.35.99, s3transfer 0.10.4" in text
        assert mb in text
