"""coldprof's stand-in runtime client (where awslambdaric cannot install) measuring real cold
starts, forced on Linux with COLDPROF_RUNTIME_CLIENT so these tests run everywhere."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import SAMPLES, busy_module, coldprof_cmd

STANDIN = {**os.environ, "COLDPROF_RUNTIME_CLIENT": "standin"}


def analyze(*args: str, env: dict[str, str] = STANDIN) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("analyze", *args), capture_output=True, text=True, timeout=300, env=env
    )


def test_the_stand_in_measures_init_to_the_first_next(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(busy_module(250))
    (tmp_path / "app.py").write_text(
        "import slow\nimport json\n\ndef handler(e, c):\n    return 1\n"
    )
    done = analyze(str(tmp_path), "--handler", "app.handler", "--runs", "3", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["runtime_client"] == "coldprof's stand-in"
    # The busy-wait is ground truth; interpreter start-up comes on top.
    assert 250 <= result["init_ms"]["median"] < 250 + 3000
    function = next(d for d in result["dependencies"] if d["name"] == "(function)")
    assert function["inclusive_ms"] >= 250 * 0.9
    # The stand-in imports no awslambdaric: what it costs is not charged to anyone.
    assert "awslambdaric" not in {d["name"] for d in result["dependencies"]}


def test_every_output_says_the_stand_in_ran(tmp_path: Path) -> None:
    out = tmp_path / "minimal.md"
    done = analyze(str(SAMPLES / "minimal"), "--runs", "2", "--bytecode-runs", "0", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "runtime client: coldprof's stand-in" in done.stdout
    assert "runtime client: coldprof's stand-in" in out.read_text()
    html = tmp_path / "minimal.html"
    saved = tmp_path / "minimal.json"
    analyze(str(SAMPLES / "minimal"), "--runs", "1", "--bytecode-runs", "0", "-o", str(saved))
    report = subprocess.run(
        coldprof_cmd("report", str(saved), "-o", str(html)), capture_output=True, timeout=60
    )
    assert report.returncode == 0
    assert (
        "coldprof&#x27;s stand-in" in html.read_text() or "coldprof's stand-in" in html.read_text()
    )


def test_awslambdaric_is_the_default_where_installed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLDPROF_RUNTIME_CLIENT"}
    done = analyze(str(SAMPLES / "minimal"), "--runs", "1", "--bytecode-runs", "0", "-f", "json",
                   env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["runtime_client"] == "awslambdaric"
    assert "awslambdaric" in {d["name"] for d in result["dependencies"]}
    assert "runtime client" not in analyze(str(SAMPLES / "minimal"), "--runs", "1", env=env).stdout


def test_an_import_error_reads_as_lambdas(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import not_installed_anywhere\n\ndef handler(e, c):\n    pass\n"
    )
    done = analyze(str(tmp_path), "--handler", "app.handler", "--runs", "1")
    assert done.returncode == 3, done.stderr
    assert "Unable to import module 'app': No module named 'not_installed_anywhere'" in done.stderr


def test_the_advisor_traces_events_through_the_stand_in(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import json, csv\n\ndef handler(e, c):\n    return json.dumps(e)\n"
    )
    event = tmp_path / "event.json"
    event.write_text('{"a": 1}')
    done = analyze(str(tmp_path), "--handler", "app.handler", "--runs", "1", "--event",
                   str(event), "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["runtime_client"] == "coldprof's stand-in"
    (run,) = result["advisor"]["events"]  # the traced handler ran, through the stand-in's loop
    assert run["ok"] and run["status"] == "ok"


def test_the_embedded_emulator_runs_the_stand_in_and_says_so(tmp_path: Path) -> None:
    fn = tmp_path / "tiny_fn"
    fn.mkdir()
    (fn / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    out = tmp_path / "remote.json"
    done = subprocess.run(
        coldprof_cmd("remote", str(fn), "--local", "--memory", "128", "--samples", "2")
        + ["--warm", "1", "--yes", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=STANDIN,
    )
    assert done.returncode == 0, done.stderr
    assert "runtime client: coldprof's stand-in" in done.stdout
    saved = json.loads(out.read_text())
    assert saved["runtime_client"] == "coldprof's stand-in"
    (tier,) = saved["functions"][0]["tiers"]
    assert len(tier["cold"]) == 2 and len(tier["warm"]) == 2  # invoked through the stand-in
    assert all(sample["init_ms"] for sample in tier["cold"])
