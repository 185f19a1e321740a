"""analyze --py-spy: one cold start's init recorded by py-spy, as a speedscope file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import busy_module, coldprof_cmd, install_distribution


def analyze(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd("analyze", *args, "--runs", "1", "--bytecode-runs", "0"),
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def test_py_spy_records_the_init_of_one_cold_start(tmp_path: Path) -> None:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text(
        "import slowdep\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    install_distribution(root, "slowdep", {"slowdep/__init__.py": busy_module(150)})
    out = tmp_path / "init.speedscope.json"
    done = analyze(str(root), "--py-spy", str(out), "--format", "json")
    if done.returncode == 3 and "py-spy could not record" in done.stderr:
        pytest.skip(f"py-spy cannot attach on this machine: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "analyze"  # stdout stays the report
    assert f"wrote {out} (py-spy, init only" in done.stderr
    doc = json.loads(out.read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    samples = [s for p in doc["profiles"] for s in p["samples"]]
    assert samples

    # The handler module's import is slowdep's 150 ms busy loop and next to nothing else, so
    # the samples taken under it are nearly all in slowdep, whatever rate py-spy managed to keep
    # (under load it samples less often than asked).
    def under(name: str) -> list[list[int]]:
        return [s for s in samples if any(name in frames[i].get("file", "") for i in s)]

    in_handler, in_slowdep = under("lambda_function.py"), under("slowdep")
    assert len(in_slowdep) >= 5, (len(in_slowdep), len(samples))
    assert len(in_slowdep) >= 0.8 * len(in_handler), (len(in_slowdep), len(in_handler))


def test_py_spy_that_cannot_attach_exits_3_saying_why(tmp_path: Path) -> None:
    fake = tmp_path / "py-spy"
    fake.write_text("#!/bin/sh\necho 'Error: Operation not permitted (os error 1)' >&2\nexit 1\n")
    fake.chmod(0o755)
    root = tmp_path / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    out = tmp_path / "init.speedscope.json"
    done = analyze(str(root), "--py-spy", str(out), env={"COLDPROF_PY_SPY": str(fake)})
    assert done.returncode == 3
    assert "py-spy could not record the init: Error: Operation not permitted" in done.stderr
    assert "ptrace" in done.stderr and "SYS_PTRACE" in done.stderr
    assert not out.exists()


def test_py_spy_profiles_the_same_init_as_the_timed_runs_with_a_relative_layer(
    tmp_path: Path,
) -> None:
    # The child runs from the task root: a --layer left relative there names another folder
    # (or none), and py-spy would profile an init that never imports the layer's module.
    root = tmp_path / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text(
        "import layermod\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    layer = tmp_path / "layer" / "python" / "layermod"
    layer.mkdir(parents=True)
    (layer / "__init__.py").write_text(busy_module(150))
    out = tmp_path / "init.speedscope.json"
    done = subprocess.run(
        coldprof_cmd(
            "analyze", "fn", "--layer", "layer", "--py-spy", str(out), "--format", "json",
            "--runs", "1", "--bytecode-runs", "0",
        ),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    if done.returncode == 3 and "py-spy could not record" in done.stderr:
        pytest.skip(f"py-spy cannot attach on this machine: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    costs = {d["name"]: d for d in json.loads(done.stdout)["dependencies"]}
    assert "layermod" in costs  # the timed runs imported it from the layer
    doc = json.loads(out.read_text())
    frames = doc["shared"]["frames"]
    samples = [s for p in doc["profiles"] for s in p["samples"]]
    in_layer = [s for s in samples if any("layermod" in frames[i].get("file", "") for i in s)]
    assert len(in_layer) >= 5, (len(in_layer), len(samples))
