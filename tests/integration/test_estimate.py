"""The Lambda init estimate: /proc features, the speed reference, real analyses, calibration."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from coldprof.estimate import speedref
from coldprof.estimate.model import (
    ESTIMATE_KEY,
    FEATURES_KEY,
    InitFeatures,
    estimate,
    estimate_of,
    features_from,
    load_model,
)
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.render.analyze_text import table
from coldprof.runner import procstat
from conftest import coldprof_cmd

BUSY_S = 0.25

# A function whose init spends a known CPU time: the ground truth for the CPU feature.
BUSY_APP = f"""\
import time

_until = time.process_time() + {BUSY_S}
while time.process_time() < _until:
    pass


def handler(event, context):
    return "ok"
"""


# Fixed work, not a fixed CPU time: its CPU time grows on a slower or busier machine, as a real
# init's does and as the speed reference's does. (A busy-wait on process_time would spend the
# same CPU time anywhere, so it cannot show the reference at work.)
WORK_APP = """\
import asyncio
import difflib
import email.mime.multipart
import http.server
import pydoc
import sqlite3
import unittest
import xml.dom.minidom

_total = 0
for _i in range(1_500_000):
    _total += _i * _i % 7


def handler(event, context):
    return _total
"""


@pytest.fixture
def work_function(tmp_path: Path) -> Path:
    folder = tmp_path / "work_fn"
    folder.mkdir()
    (folder / "app.py").write_text(WORK_APP)
    return folder


@pytest.fixture
def busy_function(tmp_path: Path) -> Path:
    folder = tmp_path / "busy_fn"
    folder.mkdir()
    (folder / "app.py").write_text(BUSY_APP)
    return folder


# -- /proc ------------------------------------------------------------------------------------
def test_stat_fields_are_counted_from_the_last_parenthesis() -> None:
    # A command name may hold spaces and parentheses.
    line = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194304 100 0 0 0 37 5 0 0 20 0 1 0 99\n"
    assert procstat.parse_stat_cpu_ticks(line) == 42


def test_io_and_maps_are_parsed() -> None:
    io = procstat.parse_io("rchar: 1043123\nwchar: 12\nsyscr: 310\nread_bytes: 0\n")
    assert io == {"rchar": 1043123, "wchar": 12, "syscr": 310, "read_bytes": 0}
    maps = (
        "7f00-7f01 r--p 00000000 08:01 11 /usr/lib/libc.so.6\n"
        "7f01-7f02 r-xp 00001000 08:01 11 /usr/lib/libc.so.6\n"
        "7f02-7f03 r--p 00000000 08:01 12 /task/numpy/core/_multiarray.cpython-311.so\n"
        "7f03-7f04 rw-p 00000000 00:00 0 \n"
        "7f04-7f05 r--p 00000000 08:01 13 /usr/lib/locale/locale-archive\n"
        "7f05-7f06 r--p 00000000 08:01 14 /tmp/a.sock (deleted)\n"
    )
    assert procstat.shared_library_paths(maps) == {
        "/usr/lib/libc.so.6",
        "/task/numpy/core/_multiarray.cpython-311.so",
    }


def test_only_the_resident_pages_of_the_package_libraries_count() -> None:
    smaps = (
        "7f00-7f10 r-xp 00000000 08:01 12 /task/big/libhuge.so\n"
        "Size:              65536 kB\n"
        "Rss:                 512 kB\n"
        "7f10-7f20 r--p 00010000 08:01 12 /task/big/libhuge.so\n"
        "Size:               1024 kB\n"
        "Rss:                 128 kB\n"
        "7f20-7f30 r-xp 00000000 08:01 13 /usr/lib/libc.so.6\n"
        "Rss:                2048 kB\n"
        "7f30-7f40 r--p 00000000 08:01 14 /task/data.bin\n"
        "Rss:                4096 kB\n"
    )
    assert procstat.resident_library_bytes(smaps, (Path("/task"),)) == 640 * 1024
    assert procstat.resident_library_bytes(smaps, ()) == 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_live_process_cpu_time_is_read_from_proc() -> None:
    # Ground truth: the child burns a known CPU time, then waits for us to read it.
    code = (
        "import sys, time\n"
        "t = time.process_time() + 0.3\n"
        "while time.process_time() < t: pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "done\n"
        sample = procstat.sample(proc.pid, (Path(sys.prefix),))
    finally:
        proc.kill()
        proc.wait()
    assert sample.cpu_ms is not None and 300 <= sample.cpu_ms < 1000
    assert sample.read_chars and sample.read_chars > 0
    assert sample.shared_libraries and sample.shared_libraries >= 1


def test_the_speed_reference_measures_cpu_time() -> None:
    values = [speedref.measure(sys.executable) for _ in range(3)]
    assert all(v is not None and 5 < v < 5000 for v in values), values
    assert speedref.measure("/nonexistent/python") is None


# -- analyze ----------------------------------------------------------------------------------
def test_analyze_measures_the_features_and_reports_the_estimate(
    busy_function: Path, tmp_path: Path
) -> None:
    result = analyze(
        AnalyzeRequest(
            busy_function,
            handler="app.handler",
            runs=3,
            bytecode_runs=0,
            cache_dir=tmp_path / "cache",
        )
    )
    features = features_from(result)
    assert features is not None
    # The init burns BUSY_S of CPU on top of the runtime's own start.
    assert features.cpu_ms is not None and features.cpu_ms >= BUSY_S * 1000
    assert features.reference_runs >= 3 * speedref.PER_COLD_START and features.reference_cpu_ms
    assert features.modules > 10 and features.shared_libraries
    found = estimate_of(result)
    assert found is not None
    assert found.low_ms < found.mid_ms < found.high_ms
    assert (found.runtime, found.architecture, found.package_type) == (
        f"python{sys.version_info[0]}.{sys.version_info[1]}",
        "x86_64",
        "zip",
    )
    data = result.to_dict()
    assert set(data[ESTIMATE_KEY]) >= {
        "low_ms",
        "mid_ms",
        "high_ms",
        "runtime",
        "architecture",
        "package_type",
        "model",
        "calibration_points",
        "loo_median_error_pct",
    }
    assert FEATURES_KEY in data
    assert "on Lambda (estimate): " in table(result)


def _analyze_cli(function: Path, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COLDPROF_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        coldprof_cmd(
            "analyze",
            str(function),
            "--handler",
            "app.handler",
            "--runs",
            "5",
            "--bytecode-runs",
            "0",
            "--format",
            "json",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _throttled_count(cpu_dir: Path) -> int:
    for line in (cpu_dir / "cpu.stat").read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == "nr_throttled":
            return int(value)
    return 0


def test_a_cpu_quota_of_half_a_core_leaves_the_estimate_where_it_was(
    work_function: Path, tmp_path: Path
) -> None:
    from coldprof.runner.cgroups import Cgroups

    cgroups = Cgroups()
    if cgroups.cpu is None:
        pytest.skip(f"no CPU cgroup here: {'; '.join(cgroups.support.problems)}")
    cache = tmp_path / "cache"
    estimates: dict[str, list[float]] = {"free": [], "half a core": []}
    walls: dict[str, list[float]] = {"free": [], "half a core": []}
    throttled = 0
    try:
        # Alternate, so load from elsewhere on the machine hits both sides alike.
        for which in ("free", "half a core", "free", "half a core"):
            proc = _analyze_cli(work_function, cache)
            group = None
            if which == "half a core":
                group = cgroups.cpu.child(f"analyze-{proc.pid}")
                cgroups.cpu.set_cpu(group, 50_000)  # 50 ms per 100 ms period
                cgroups.cpu.add_pid(group, proc.pid)
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            if group is not None:
                throttled += _throttled_count(group)
                group.rmdir()
            data = json.loads(out)
            estimates[which].append(data[ESTIMATE_KEY]["mid_ms"])
            walls[which].append(data["init_ms"]["median"])
    finally:
        cgroups.close()
    # The quota did bite: the kernel throttled the analyze and its cold starts.
    assert throttled > 0
    free, half = statistics.median(estimates["free"]), statistics.median(estimates["half a core"])
    assert half == pytest.approx(free, rel=0.15), (estimates, walls)


def test_the_line_appears_in_the_cli_table(busy_function: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        coldprof_cmd(
            "analyze",
            str(busy_function),
            "--handler",
            "app.handler",
            "--runs",
            "2",
            "--bytecode-runs",
            "0",
        ),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLDPROF_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("on Lambda (estimate): "))
    assert " ms, python3." in line and "calibrated on " in line and "median error " in line


# -- a team's own calibration -----------------------------------------------------------------
def _cli(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coldprof_cmd(*args),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLDPROF_CACHE_DIR": str(cache)},
    )


def test_calibrate_stores_a_known_account_factor_used_in_later_estimates(
    busy_function: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"  # the adjustment lives in the cache: never the shared one
    analysis = tmp_path / "analyze.json"
    swept = tmp_path / "remote.json"
    done = _cli(
        cache,
        "analyze",
        str(busy_function),
        "--handler",
        "app.handler",
        "--runs",
        "3",
        "--bytecode-runs",
        "0",
        "--format",
        "json",
        "--output",
        str(analysis),
    )
    assert done.returncode == 0, done.stderr
    done = _cli(
        cache,
        "remote",
        str(busy_function),
        "--local",
        "--handler",
        "app.handler",
        "--memory",
        "1769",
        "--samples",
        "2",
        "--warm",
        "0",
        "--yes",
        "--format",
        "json",
        "--output",
        str(swept),
    )
    assert done.returncode == 0, done.stderr
    remote = json.loads(swept.read_text())
    (function,) = remote["functions"]
    # remote --local: the emulator's Init Duration (this machine's) with Lambda's estimate beside.
    assert function["lambda_estimate"]["model"].startswith("lambda-init-")
    shown = _cli(cache, "report", str(swept))
    assert "the emulator's Init Duration is this machine's; on Lambda (estimate): " in shown.stdout
    colds = [s for tier in function["tiers"] for s in tier["cold"]]
    assert colds and all(s["init_ms"] > 0 for s in colds)

    # An account where Lambda inits exactly 1.6× what the model says: the emulator's sweep, its
    # Init Durations replaced by that figure.
    model_mid = json.loads(analysis.read_text())[ESTIMATE_KEY]["mid_ms"]
    for sample in colds:
        sample["init_ms"] = round(1.6 * model_mid, 3)
    swept.write_text(json.dumps(remote))
    done = _cli(cache, "calibrate", str(swept), str(analysis))
    assert done.returncode == 0, done.stderr
    assert "account adjustment ×1.60 from 1 function(s)" in done.stdout
    stored = json.loads((cache / "lambda-adjustment.json").read_text())
    assert stored["factor"] == pytest.approx(1.6, abs=0.001)

    # A later analyze uses it, and says so.
    later = tmp_path / "later.json"
    done = _cli(
        cache,
        "analyze",
        str(busy_function),
        "--handler",
        "app.handler",
        "--runs",
        "3",
        "--bytecode-runs",
        "0",
        "--format",
        "json",
        "--output",
        str(later),
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(later.read_text())
    features = InitFeatures.from_dict(data[FEATURES_KEY])
    unadjusted = estimate(features)
    assert unadjusted is not None
    assert data[ESTIMATE_KEY]["mid_ms"] == pytest.approx(1.6 * unadjusted.mid_ms, rel=0.001)
    assert data[ESTIMATE_KEY]["adjustment"] == "account adjustment ×1.60 (1 function)"
    assert "; account adjustment ×1.60 (1 function)" in _cli(cache, "report", str(later)).stdout


def test_calibrate_rejects_files_that_do_not_fit(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    swept = tmp_path / "remote.json"
    swept.write_text(json.dumps({"kind": "remote", "functions": []}))
    done = _cli(cache, "calibrate", str(swept), str(swept))
    assert done.returncode == 2
    assert done.stderr.startswith("coldprof: error: ") and "Traceback" not in done.stderr
    assert "not an analyze result" in done.stderr
    done = _cli(cache, "calibrate", str(tmp_path / "missing.json"), str(swept))
    assert done.returncode == 2 and "no such file" in done.stderr
    assert not (cache / "lambda-adjustment.json").exists()


def test_an_unknown_architecture_or_package_type_is_a_usage_error(
    busy_function: Path, tmp_path: Path
) -> None:
    for option, value in (("--architecture", "sparc"), ("--package-type", "tarball")):
        done = _cli(tmp_path / "cache", "analyze", str(busy_function), option, value)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"coldprof: error: {option} {value}: expected ")


def test_arm64_and_image_change_the_estimate_as_the_calibration_says(tmp_path: Path) -> None:
    model = load_model()
    assert model is not None
    features = InitFeatures(
        "python3.11", 300.0, 2**20, 10, 0, 300, model.reference_cpu_ms["python3.11"]
    )
    x86 = estimate(features, "x86_64", "zip", model)
    arm = estimate(features, "arm64", "zip", model)
    image = estimate(features, "x86_64", "image", model)
    assert x86 is not None and arm is not None and image is not None
    assert arm.mid_ms == pytest.approx(x86.mid_ms * model.architecture_factors["arm64"], rel=1e-3)
    assert arm.mid_ms < x86.mid_ms  # published: arm64 inits 15-20 % faster
    assert image.mid_ms > x86.mid_ms  # published: an image starts slower than a zip
    assert "arm64 zip" in arm.line() and "x86_64 image" in image.line()
