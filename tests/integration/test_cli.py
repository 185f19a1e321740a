"""The CLI's own promises: it starts without heavy imports, and bad input gets one clean line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, coldprof_cmd

HEAVY = ("boto3", "botocore", "tabulate", "awslambdaric", "matplotlib", "yaml")


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("analyze", "--help")])
def test_start_up_does_not_import_heavy_modules(args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "coldprof", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "typer" in imported  # the measurement itself works
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_version() -> None:
    done = subprocess.run(coldprof_cmd("--version"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("coldprof ")


def test_unknown_option_is_usage_error() -> None:
    done = subprocess.run(
        coldprof_cmd("analyze", "--no-such-flag"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("report", str(REPO / "reports" / "analyze-heavy_deps.json"), "--format", "json"),
        ("analyze", "--help"),  # a command's own options are parsed inside the boundary too
    ],
)
def test_a_reader_that_goes_away_is_exit_141_not_a_finding(args: tuple[str, ...]) -> None:
    """`coldprof report big.json | true`: exit 1 would read as findings to CI."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before coldprof writes a byte
    try:
        done = subprocess.run(
            coldprof_cmd(*args), stdout=write, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr
