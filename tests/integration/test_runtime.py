"""The function's own runtime: its interpreter, Lambda's filesystem, and a cold page cache."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from coldprof.emulator.server import LocalLambda
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.remote.request import RemoteRequest
from coldprof.remote.sweep import sweep
from coldprof.runner import interpreter, lambda_fs
from conftest import SAMPLES, coldprof_cmd

OWN = f"{sys.version_info[0]}.{sys.version_info[1]}"


def needs(version: str) -> None:
    if interpreter.find_version(version, "test") is None:
        pytest.skip(f"Python {version} is not installed here")


def a_missing_version() -> str:
    return "3.99"


def template(root: Path, runtime: str, handler: str = "app.lambda_handler") -> None:
    (root / "template.yaml").write_text(
        textwrap.dedent(
            f"""\
            Resources:
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  Handler: {handler}
                  Runtime: {runtime}
            """
        )
    )


VERSION_HANDLER = """\
import sys
VERSION = "%d.%d.%d" % sys.version_info[:3]
def lambda_handler(event, context):
    return {"version": VERSION}
"""


# -- the interpreter ------------------------------------------------------------------------------
def test_python_option_runs_the_cold_starts_on_that_interpreter(tmp_path: Path) -> None:
    needs("3.12")
    out = tmp_path / "result.json"
    done = subprocess.run(
        coldprof_cmd(
            "analyze",
            str(SAMPLES / "minimal"),
            "--python",
            "3.12",
            "--runs",
            "2",
            "--bytecode-runs",
            "0",
            "--output",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["python"].startswith("3.12.")
    # The interpreter that ran says so itself: the recorded path reports 3.12.
    probe = subprocess.run(
        [
            os.path.expanduser(result["interpreter"]),
            "-c",
            "import sys; print(sys.version_info[:2])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "(3, 12)"
    # Its standard library is attributed as the standard library, not as unknown code.
    stdlib = next(d for d in result["dependencies"] if d["name"] == "(stdlib)")
    assert stdlib["modules"] > 20


def test_a_template_runtime_picks_the_interpreter(tmp_path: Path) -> None:
    needs("3.13")
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text(
        VERSION_HANDLER + "import os\nassert sys.version_info[:2] == (3, 13), VERSION\n"
    )
    template(root, "python3.13")
    result = analyze(AnalyzeRequest(path=root, runs=2, bytecode_runs=0))
    assert result.python.startswith("3.13.")
    assert result.declared_runtime == "python3.13"
    assert not any("declares" in note for note in result.notes)  # it ran what it declares


def test_python_option_overrides_the_template_and_the_header_shows_both(tmp_path: Path) -> None:
    needs("3.10")
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text(VERSION_HANDLER)
    template(root, "python3.13")
    out = tmp_path / "result.json"
    done = subprocess.run(
        coldprof_cmd(
            "analyze",
            str(root),
            "--python",
            "python3.10",
            "--runs",
            "1",
            "--bytecode-runs",
            "0",
            "--output",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["declared_runtime"] == "python3.13"
    # With --output, stdout is a one-line summary: the header is the saved result's.
    shown = subprocess.run(
        coldprof_cmd("report", str(out)), capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert "Python 3.10." in first and "declared: python3.13" in first


def test_a_missing_interpreter_exits_2_with_an_install_hint(tmp_path: Path) -> None:
    missing = a_missing_version()
    done = subprocess.run(
        coldprof_cmd("analyze", str(SAMPLES / "minimal"), "--python", missing),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"no Python {missing} found" in done.stderr
    assert f"pyenv install {missing}" in done.stderr
    assert "Traceback" not in done.stderr

    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text(VERSION_HANDLER)
    template(root, f"python{missing}")
    done = subprocess.run(
        coldprof_cmd("analyze", str(root)), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert f"Runtime is python{missing} in template.yaml" in done.stderr
    assert "hint:" in done.stderr


def test_runtime_boto3_pins_the_runtime_directory(tmp_path: Path) -> None:
    needs("3.12")
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text(
        "import boto3, botocore\n"
        "VERSIONS = (boto3.__version__, botocore.__version__)\n"
        "assert VERSIONS == ('1.35.36', '1.35.36'), VERSIONS\n"
        "def lambda_handler(event, context):\n    return VERSIONS\n"
    )
    result = analyze(
        AnalyzeRequest(path=root, runs=1, bytecode_runs=0, python="3.12", runtime_boto3="1.35.36")
    )
    assert result.runtime_sdk.startswith("boto3 1.35.36, botocore 1.35.36 (--runtime-boto3)")


# -- Lambda's filesystem --------------------------------------------------------------------------
# Each cold start's init appends what it saw to a file outside /tmp (which it cannot share).
OBSERVING_HANDLER = """\
import json, os, tempfile
_here = os.path.dirname(os.path.abspath(__file__))
try:
    with open(os.path.join(_here, "init-wrote-this.txt"), "w") as _f:
        _f.write("x")
    _wrote = "written"
except OSError as _e:
    _wrote = _e.strerror
_tmp = tempfile.gettempdir()
_seen = {
    "file": os.path.abspath(__file__),
    "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
    "cwd": os.getcwd(),
    "write": _wrote,
    "tmp": _tmp,
    "tmp_entries": sorted(os.listdir(_tmp)),
}
with open(os.path.join(_tmp, "left-by-a-cold-start"), "w") as _f:
    _f.write("x")
with open(os.environ["OBSERVATIONS"], "a") as _f:
    _f.write(json.dumps(_seen) + "\\n")


def lambda_handler(event, context):
    return _seen
"""


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def observe(
    tmp_path: Path, filesystem: str, lines: bool = False
) -> tuple[Path, dict[str, str], list[dict[str, Any]]]:
    root = tmp_path / "fn"
    root.mkdir()
    (root / "app.py").write_text(OBSERVING_HANDLER)
    before = snapshot(root)
    # Not under /tmp: in Lambda's filesystem the function gets an empty /tmp of its own.
    log_dir = Path(os.environ["COLDPROF_CACHE_DIR"]) / "observations"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{uuid.uuid4().hex}.jsonl"
    analyze(
        AnalyzeRequest(
            path=root,
            runs=3,
            bytecode_runs=1,
            env={"OBSERVATIONS": str(log)},
            filesystem=filesystem,
            lines=lines,  # the line-traced start runs on a copy: it is tested on its own
        )
    )
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    log.unlink()
    return root, before, seen


@pytest.mark.skipif(lambda_fs.namespace_refusal() is not None, reason="no mount namespaces here")
def test_lambda_filesystem_var_task_read_only_and_a_fresh_tmp_each_cold_start(
    tmp_path: Path,
) -> None:
    root, before, seen = observe(tmp_path, lambda_fs.LAMBDA)
    assert len(seen) >= 4  # 3 counted cold starts and the bytecode run, at least
    for init in seen:
        assert init["file"] == "/var/task/app.py"
        assert init["task_root"] == "/var/task"
        assert init["cwd"] == "/var/task"
        assert init["write"] == "Read-only file system"
        assert init["tmp"] == "/tmp"
        assert init["tmp_entries"] == []  # the file the previous cold start left is gone
    assert snapshot(root) == before  # no __pycache__, nothing the init wrote


def test_copy_filesystem_keeps_the_users_folder_and_gives_each_cold_start_an_empty_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lambda_fs.FORCE_ENV, "copy")
    root, before, seen = observe(tmp_path, None)  # type: ignore[arg-type]
    assert len(seen) >= 4
    tmpdirs = {init["tmp"] for init in seen}
    assert len(tmpdirs) == len(seen)  # one each
    for init in seen:
        assert init["task_root"] != str(root)
        assert init["file"] == os.path.join(init["task_root"], "app.py")
        assert init["tmp_entries"] == []
        if os.geteuid() != 0:  # file modes stop anyone but root
            assert init["write"] == "Permission denied"
    assert snapshot(root) == before


def test_the_result_records_the_filesystem_and_the_report_says_what_copy_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lambda_fs.FORCE_ENV, "copy")
    out = tmp_path / "result.json"
    done = subprocess.run(
        coldprof_cmd(
            "analyze",
            str(SAMPLES / "minimal"),
            "--runs",
            "1",
            "--bytecode-runs",
            "0",
            "--output",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["filesystem"] == "copy"
    shown = subprocess.run(
        coldprof_cmd("report", str(out)), capture_output=True, text=True, timeout=120
    )
    assert "not /var/task" in shown.stdout and "root ignores" in shown.stdout


def test_namespace_setup_is_not_counted_as_init(make_function: Callable[..., Path]) -> None:
    """A module that busy-waits 150 ms at import: init is that plus start-up, whatever the
    mount set-up costs before the runtime's exec."""
    from conftest import busy_module

    if lambda_fs.namespace_refusal() is not None:
        pytest.skip("no mount namespaces here")
    root = make_function(busy_module(150) + "\ndef lambda_handler(e, c):\n    return 1\n")
    host = analyze(AnalyzeRequest(path=root, runs=3, bytecode_runs=0, filesystem="copy"))
    lambda_ = analyze(AnalyzeRequest(path=root, runs=3, bytecode_runs=0, filesystem="lambda"))
    assert lambda_.filesystem == "lambda" and host.filesystem == "copy"
    for result in (host, lambda_):
        assert result.init_ms.median >= 150
    # The same code on the same interpreter: the medians agree within start-up noise.
    assert abs(lambda_.init_ms.median - host.init_ms.median) < 60


def test_the_estimate_features_leave_out_the_filesystem_launcher(
    make_function: Callable[..., Path],
) -> None:
    """The launcher that lays out Lambda's filesystem is the runtime's own process before its
    exec: its reads and CPU are not the function's init, and the estimate must not see them."""
    from coldprof.estimate.model import features_from

    if lambda_fs.namespace_refusal() is not None:
        pytest.skip("no mount namespaces here")
    root = make_function("def lambda_handler(e, c):\n    return 1\n")
    seen = {}
    for mode in (lambda_fs.COPY, lambda_fs.LAMBDA):
        result = analyze(AnalyzeRequest(path=root, runs=3, bytecode_runs=0, filesystem=mode))
        features = features_from(result)
        assert features is not None and features.read_bytes is not None
        seen[mode] = features.read_bytes
    # The same init reads the same files either way (the launcher alone read ~0.5 MB more).
    assert abs(seen[lambda_fs.LAMBDA] - seen[lambda_fs.COPY]) < 16 * 1024, seen


# -- the page cache -------------------------------------------------------------------------------
def test_cold_page_cache_reads_the_package_from_disk_every_cold_start() -> None:
    result = analyze(
        AnalyzeRequest(path=SAMPLES / "heavy_deps", runs=3, bytecode_runs=0, page_cache="cold")
    )
    assert result.page_cache == "cold"
    assert len(result.run_disk_read_bytes) == 3
    assert all(b is not None and b > 0 for b in result.run_disk_read_bytes)
    assert result.discarded_runs == 0  # reading from disk is the point: nothing thrown away


def test_page_cache_must_be_warm_or_cold() -> None:
    done = subprocess.run(
        coldprof_cmd("analyze", str(SAMPLES / "minimal"), "--page-cache", "tepid"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "expected warm or cold" in done.stderr


# -- the emulator and remote --local ------------------------------------------------------------
def _client(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="eu-west-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=300, connect_timeout=5),
    )


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.mark.parametrize("runtime", ["python3.12", f"python{a_missing_version()}"])
def test_the_emulator_runs_a_function_on_the_python_its_runtime_names(runtime: str) -> None:
    expected = runtime.removeprefix("python")
    if interpreter.find_version(expected, "test") is None and expected != a_missing_version():
        pytest.skip(f"{runtime} is not installed here")
    with LocalLambda(update_seconds=0.1) as url:
        lam = _client(url)
        name = f"rt-{uuid.uuid4().hex[:8]}"
        lam.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role="arn:aws:iam::123456789012:role/x",
            Handler="app.lambda_handler",
            Code={"ZipFile": _zip(VERSION_HANDLER)},
        )
        lam.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        ran = json.loads(lam.invoke(FunctionName=name)["Payload"].read())["version"]
        arn = lam.get_function(FunctionName=name)["Configuration"]["RuntimeVersionConfig"][
            "RuntimeVersionArn"
        ]
    if expected == a_missing_version():
        # Not installed: it runs on coldprof's own Python, and the configuration says which.
        assert ran.startswith(f"{OWN}.")
    else:
        assert ran.startswith(f"{expected}.")
    assert arn.endswith(f"coldprof-local-python{ran}")


def test_remote_local_labels_the_python_that_ran(tmp_path: Path) -> None:
    needs("3.12")
    request = RemoteRequest(
        arns=(),
        paths=(SAMPLES / "minimal",),
        memory_tiers=(512,),
        samples=1,
        warm=0,
        local=True,
        runtime="python3.12",
    )
    result = sweep(request)
    function = result.functions[0]
    assert function.runtime == "python3.12"
    assert function.python is not None and function.python.startswith("3.12.")

    missing = sweep(
        RemoteRequest(
            arns=(),
            paths=(SAMPLES / "minimal",),
            memory_tiers=(512,),
            samples=1,
            warm=0,
            local=True,
            runtime=f"python{a_missing_version()}",
        )
    )
    other = missing.functions[0]
    assert other.python is not None and other.python.startswith(f"{OWN}.")
    from coldprof.render.remote_text import runtime_label

    assert f"RAN ON Python {other.python}" in runtime_label(other)


# -- the package, built as Lambda gets it ---------------------------------------------------------
def _sdist(folder: Path, name: str) -> Path:
    """A source distribution (no wheel) of a one-module package, in ``folder``."""
    import io
    import tarfile

    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
        'build-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "0.1"\n',
        f"{name}/__init__.py": "VALUE = 7\n",
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
    }
    path = folder / f"{name}-0.1.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for relative, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-0.1/{relative}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_requirement_with_no_wheel_is_built_from_source_with_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "fn"
    root.mkdir()
    name = f"coldprof_sdist_only_{uuid.uuid4().hex[:6]}"
    _sdist(root / "dist", name)
    (root / "requirements.txt").write_text(f"--find-links ./dist\n{name}\nsix\n")
    (root / "app.py").write_text(
        f"import six, {name}\ndef lambda_handler(e, c):\n    return {name}.VALUE\n"
    )
    result = analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0))
    assert result.dependency(name.replace("_", "-")) is not None  # it was built and imported
    assert result.dependency("six") is not None  # the rest still came as Lambda's wheels
    warned = [n for n in result.notes if "no wheel for manylinux2014_x86_64" in n]
    assert len(warned) == 1 and warned[0].startswith(f"{name}:")


def test_arm64_sizes_come_from_the_arm64_build_and_timings_from_x86_64(tmp_path: Path) -> None:
    from coldprof.build.dependencies import BuildTarget
    from coldprof.build.handler import resolve_function
    from coldprof.build.package import task_root_for
    from coldprof.measure.distributions import scan_site
    from coldprof.measure.spec import machine_architecture

    if machine_architecture() != "x86_64":
        pytest.skip("this is about an x86_64 machine")
    root = tmp_path / "fn"
    root.mkdir()
    # charset-normalizer ships compiled wheels per platform, of different sizes.
    (root / "requirements.txt").write_text("charset-normalizer\n")
    (root / "app.py").write_text("import charset_normalizer\ndef lambda_handler(e, c):\n    pass\n")
    x86 = analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0))
    arm = analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0, architecture="arm64"))
    x86_dep, arm_dep = x86.dependency("charset-normalizer"), arm.dependency("charset-normalizer")
    assert x86_dep is not None and arm_dep is not None
    assert arm_dep.version == x86_dep.version  # the same versions were timed
    assert arm_dep.self_ms > 0  # ... and imported: timings came from a build that runs here
    # The sizes are those of the aarch64 build's files.
    arm_root = task_root_for(
        resolve_function(root),
        target=BuildTarget(platform="manylinux2014_aarch64", python_version=OWN),
    )
    arm_dist = next(d for d in scan_site(arm_root, "third-party") if d.name == "charset-normalizer")
    assert any("aarch64" in f for f in arm_dist.files)
    on_disk = [f for f in arm_dist.files if os.path.isfile(f)]
    assert arm_dep.unzipped_bytes == sum(os.path.getsize(f) for f in on_disk)
    assert arm_dep.unzipped_bytes != x86_dep.unzipped_bytes
    assert any("sizes are the arm64 build's" in n for n in arm.notes)


def test_the_line_traced_start_never_writes_the_users_folder(tmp_path: Path) -> None:
    """The init tries to write next to its own file; the traced start runs on a copy."""
    root, before, seen = observe(tmp_path, lambda_fs.choose_mode(None), lines=True)
    traced = [init for init in seen if init["file"] != "/var/task/app.py"]
    assert traced, "the line-traced cold start did not run"
    assert all(not init["file"].startswith(str(root)) for init in traced)
    assert snapshot(root) == before


@pytest.mark.parametrize("filesystem", [lambda_fs.LAMBDA, lambda_fs.COPY])
def test_audit_base_runs_both_sides_on_the_runtime_python_in_lambdas_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filesystem: str
) -> None:
    """Both sides of audit --base: the interpreter the template names, the package read-only
    where the function sees it, and the user's checkout unchanged (the base is a git archive)."""
    from coldprof.audit.base import measure_against_base

    needs("3.12")
    if filesystem == lambda_fs.LAMBDA and lambda_fs.namespace_refusal() is not None:
        pytest.skip("no mount namespaces here")
    monkeypatch.setenv(lambda_fs.FORCE_ENV, filesystem)
    repo = tmp_path / "repo"
    root = repo / "fn"
    root.mkdir(parents=True)
    template(root, "python3.12")
    (root / "app.py").write_text('SIDE = "base"\n' + OBSERVING_HANDLER)

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    git("init", "-q")
    git("-c", "user.email=dev@example.com", "-c", "user.name=dev", "add", "-A")
    git("-c", "user.email=dev@example.com", "-c", "user.name=dev", "commit", "-qm", "fn")
    (root / "app.py").write_text(
        'SIDE = "head"\n' + OBSERVING_HANDLER.replace('"cwd":', '"side": SIDE, "cwd":')
    )
    before, status = snapshot(root), git("status", "--porcelain")
    log_dir = Path(os.environ["COLDPROF_CACHE_DIR"]) / "observations"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{uuid.uuid4().hex}.jsonl"
    paired = measure_against_base(
        # As the audit command asks it: no line trace (it runs on a copy of its own, tested above).
        AnalyzeRequest(
            path=root, runs=3, bytecode_runs=1, env={"OBSERVATIONS": str(log)}, lines=False
        ),
        "HEAD",
    )
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    log.unlink()
    assert paired.base is not None
    for result in (paired.head, paired.base):
        assert result.python.startswith("3.12.") and result.declared_runtime == "python3.12"
        assert result.filesystem == filesystem
    head = [init for init in seen if init.get("side") == "head"]
    base = [init for init in seen if "side" not in init]
    assert len(base) >= 3 and len(head) >= 4  # the head's bytecode run too
    for init in seen:
        assert init["tmp_entries"] == []
        if filesystem == lambda_fs.LAMBDA:
            assert init["file"] == "/var/task/app.py" and init["task_root"] == "/var/task"
            assert init["write"] == "Read-only file system"
        else:
            assert not init["file"].startswith(str(repo))
            # Each side's copy is removed once it is concluded.
            assert not Path(init["task_root"]).exists()
            if os.geteuid() != 0:  # a copy is read-only by file mode, which root ignores
                assert init["write"] == "Permission denied"
    if filesystem == lambda_fs.COPY:
        assert len({init["task_root"] for init in seen}) == 2  # one copy per side
    assert snapshot(root) == before and git("status", "--porcelain") == status


def test_a_package_built_for_another_python_ships_that_pythons_bytecode(tmp_path: Path) -> None:
    """pip compiles with the Python that runs it: a build for 3.12 by coldprof's own Python
    would ship bytecode 3.12 never loads, and every cold start would compile the package."""
    other = "3.12" if OWN != "3.12" else "3.13"
    needs(other)
    root = tmp_path / "fn"
    root.mkdir()
    (root / "requirements.txt").write_text("six\n")
    (root / "app.py").write_text("import six\ndef lambda_handler(e, c):\n    return 1\n")
    result = analyze(AnalyzeRequest(path=root, runs=1, bytecode_runs=0, python=other))
    compiled = [p.name for p in Path(result.task_root).glob("__pycache__/six.*.pyc")]
    assert compiled == [f"six.cpython-{other.replace('.', '')}.pyc"]
    assert result.package.has_bytecode  # judged for 3.12, the Python that ran it


def test_lambdas_filesystem_is_not_laid_over_coldprofs_own_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checkout in /tmp runs coldprof from a venv under /tmp: a fresh /tmp would hide the
    interpreter and the packages the runtime directory links to, so the copy mode is used."""
    with monkeypatch.context() as patched:
        patched.setattr(sys, "prefix", "/tmp/checkout/.venv")
        lambda_fs.namespace_refusal.cache_clear()
        try:
            assert lambda_fs.hidden_host_path() == "/tmp/checkout/.venv"
            assert "would hide" in (lambda_fs.namespace_refusal() or "")
            assert lambda_fs.choose_mode() == lambda_fs.COPY
        finally:
            lambda_fs.namespace_refusal.cache_clear()
