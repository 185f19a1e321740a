"""Building the package as `sam build` would, the runtime dir, and what the package holds."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from coldprof.build.handler import FunctionSource, resolve_function
from coldprof.build.names import normalize_name
from coldprof.build.package import build_package
from coldprof.build.runtime_dir import runtime_dir, runtime_distributions
from coldprof.errors import BuildError
from conftest import coldprof_cmd


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _wheel(
    directory: Path,
    name: str,
    module_source: str,
    version: str = "1.0",
    requires: tuple[str, ...] = (),
) -> Path:
    """A minimal pure-Python wheel, so the build test needs no network."""
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{name}/__init__.py": module_source,
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_build_installs_requirements_into_a_cache_keyed_by_their_hash(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "tinydep", "VALUE = 42\n")
    fn = tmp_path / "fn"
    write(fn / "app.py", "import tinydep\ndef lambda_handler(e, c): return tinydep.VALUE\n")
    write(fn / "requirements.txt", f"{wheel}\n")
    source = resolve_function(fn)
    assert source.needs_build
    cache = tmp_path / "cache"
    root = build_package(source, cache=cache)
    assert (root / "tinydep" / "__init__.py").read_text() == "VALUE = 42\n"
    assert (root / "app.py").is_file()
    assert list(root.glob("tinydep-1.0.dist-info/RECORD"))
    # The function's own files are refreshed on every build; the deps are not re-installed.
    stamp = (root.parent / "deps-complete").stat().st_mtime_ns
    write(fn / "app.py", "import tinydep\ndef lambda_handler(e, c): return 1\n")
    (fn / "extra.py").write_text("")
    root_again = build_package(source, cache=cache)
    assert root_again == root
    assert (root.parent / "deps-complete").stat().st_mtime_ns == stamp
    assert "return 1" in (root / "app.py").read_text()
    (fn / "extra.py").unlink()
    build_package(source, cache=cache)
    assert not (root / "extra.py").exists()  # a deleted source file leaves the package too
    # The user's directory is untouched: no build output lands in it.
    assert sorted(p.name for p in fn.iterdir()) == ["app.py", "requirements.txt"]


@pytest.mark.parametrize("damage", ["package gone", "package a file", "file list a directory"])
def test_a_damaged_build_is_redone(tmp_path: Path, damage: str) -> None:
    wheel = _wheel(tmp_path, "tinydep", "VALUE = 42\n")
    fn = tmp_path / "fn"
    write(fn / "app.py", "import tinydep\ndef lambda_handler(e, c): return tinydep.VALUE\n")
    write(fn / "requirements.txt", f"{wheel}\n")
    source = resolve_function(fn)
    root = build_package(source, cache=tmp_path / "cache")
    if damage == "file list a directory":
        (root.parent / "function-files.txt").unlink()
        (root.parent / "function-files.txt").mkdir()
    else:
        shutil.rmtree(root)
        if damage == "package a file":
            root.write_text("")
    assert build_package(source, cache=tmp_path / "cache") == root
    assert (root / "tinydep" / "__init__.py").read_text() == "VALUE = 42\n"
    assert (root / "app.py").is_file()


def test_vendored_directory_is_not_rebuilt(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def lambda_handler(e, c): pass\n")
    write(tmp_path / "requirements.txt", "numpy\n")
    (tmp_path / "numpy-2.0.dist-info").mkdir()
    assert resolve_function(tmp_path).needs_build is False


def test_failed_pip_install_is_a_build_error(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def lambda_handler(e, c): pass\n")
    write(tmp_path / "requirements.txt", f"{tmp_path / 'no-such-file-1.0-py3-none-any.whl'}\n")
    with pytest.raises(BuildError, match="pip install"):
        build_package(
            FunctionSource(tmp_path, "app.lambda_handler", "convention"), cache=tmp_path / "cache"
        )


def test_a_dependency_conflict_keeps_pips_explanation(tmp_path: Path) -> None:
    # Local wheels, no index: a real resolution conflict without the network.
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "cpconflict_a", "", requires=("cpconflict_c==1.0",))
    _wheel(wheels, "cpconflict_b", "", requires=("cpconflict_c==2.0",))
    _wheel(wheels, "cpconflict_c", "", version="1.0")
    _wheel(wheels, "cpconflict_c", "", version="2.0")
    fn = tmp_path / "fn"
    write(fn / "app.py", "def lambda_handler(e, c): pass\n")
    write(
        fn / "requirements.txt",
        f"--no-index\n--find-links {wheels}\ncpconflict_a\ncpconflict_b\n",
    )
    done = subprocess.run(
        coldprof_cmd("analyze", str(fn), "--runs", "1"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    error = next(line for line in lines if line.startswith("coldprof: error:"))
    assert "conflicting dependencies" in error and "ResolutionImpossible" not in error
    explanation = lines[: lines.index(error)]  # pip's own words come first, framed as pip's
    assert explanation[0] == "---- pip's explanation ----"
    assert "The conflict is caused by:" in explanation
    assert any("cpconflict-a 1.0 depends on cpconflict_c==1.0" in s for s in explanation), lines
    assert any("cpconflict-b 1.0 depends on cpconflict_c==2.0" in s for s in explanation), lines
    assert len(explanation) <= 22  # the block and its frame, not pip's whole log
    assert "Traceback" not in done.stderr


def test_runtime_dir_holds_the_runtime_and_nothing_else(tmp_path: Path) -> None:
    names = {normalize_name(d.metadata["Name"]) for d in runtime_distributions()}
    assert {"awslambdaric", "boto3", "botocore"} <= names
    assert "typer" not in names and "coldprof" not in names
    directory = runtime_dir(tmp_path)
    entries = {p.name for p in directory.iterdir()}
    assert {"awslambdaric", "boto3", "botocore"} <= entries
    assert "typer" not in entries and "coldprof" not in entries
    assert runtime_dir(tmp_path) == directory  # cached
    assert os.path.islink(directory / "boto3")


# -- what the package holds ------------------------------------------------------------------------
def test_bytecode_fraction_counts_only_this_pythons_matching_pyc(tmp_path: Path) -> None:
    import py_compile

    from coldprof.measure.distributions import bytecode_fraction

    for relative in ("a.py", "b.py", "pkg/__init__.py", "pkg/c.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("X = 1\n")
    py_compile.compile(str(tmp_path / "a.py"), doraise=True)
    py_compile.compile(str(tmp_path / "pkg" / "c.py"), doraise=True)
    (tmp_path / "__pycache__" / "b.cpython-27.pyc").write_bytes(b"another Python's")
    assert bytecode_fraction(tmp_path) == 0.5


def test_function_files_are_what_no_record_claims(tmp_path: Path) -> None:
    from coldprof.measure.distributions import Attribution
    from conftest import install_distribution

    (tmp_path / "lambda_function.py").write_text("import dep\n")
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "util.py").write_text("")
    install_distribution(tmp_path, "dep", {"dep/__init__.py": ""})
    (tmp_path / "dep-1.0.dist-info" / "direct_url.json").write_text("{}")  # not in RECORD
    runtime = tmp_path.parent / f"{tmp_path.name}-runtime"
    runtime.mkdir()
    attribution = Attribution(tmp_path, [], runtime)
    found = sorted(os.path.relpath(f, tmp_path) for f in attribution.function_files())
    assert found == ["helpers/util.py", "lambda_function.py"]


def test_zipped_sizes_are_remembered_and_forgotten_when_unused(tmp_path: Path) -> None:
    import json

    from coldprof.measure.distributions import SizeCache

    used, unused = tmp_path / "used.py", tmp_path / "unused.py"
    used.write_text("x = 1\n" * 1000)
    unused.write_text("y = 2\n" * 1000)
    store = tmp_path / "sizes.json"
    first = SizeCache(store, today=100)
    sizes = {f: first.zipped_size(f, f.stat()) for f in (used, unused)}
    first.save()
    assert sizes[used] < used.stat().st_size  # deflated

    saved = json.loads(store.read_text())
    saved[str(used)][2] = 7  # a size only the cache knows
    store.write_text(json.dumps(saved))
    later = SizeCache(store, today=100 + SizeCache.KEEP_DAYS + 1)
    assert later.zipped_size(used, used.stat()) == 7  # read back, not recompressed
    later.save()
    assert set(json.loads(store.read_text())) == {str(used)}  # the unused one aged out


def test_the_cache_drops_what_has_not_been_used_for_a_month(tmp_path: Path) -> None:
    import fcntl
    import time

    from coldprof.build.cache import CACHE_KEEP_DAYS, PYCACHE_SOURCE, mark_cache_entry, prune_cache

    now = time.time()
    old = now - (CACHE_KEEP_DAYS + 1) * 86400

    def entry(path: Path, marker: str, content: str = "", mtime: float = now) -> Path:
        mark_cache_entry(path)
        (path / marker).write_text(content)
        os.utime(path / marker, (mtime, mtime))
        return path

    cache = tmp_path / "cache"
    stale = entry(cache / "builds" / "fn-aaaa", "function-files.txt", mtime=old)
    fresh = entry(cache / "builds" / "fn-bbbb", "function-files.txt")
    busy = entry(cache / "builds" / "fn-cccc", "function-files.txt", mtime=old)
    task_root = tmp_path / "fn"
    task_root.mkdir()
    kept_bytecode = entry(cache / "pycache" / "k1", PYCACHE_SOURCE, str(task_root))
    orphan = entry(cache / "pycache" / "k2", PYCACHE_SOURCE, str(tmp_path / "deleted"))
    unused = entry(cache / "pycache" / "k3", PYCACHE_SOURCE, str(task_root), mtime=old)

    with open(busy.with_suffix(".lock"), "w") as lock:  # another coldprof is building it
        fcntl.flock(lock, fcntl.LOCK_EX)
        removed = prune_cache(cache, now=now)
    assert sorted(removed) == sorted([stale, orphan, unused])
    assert fresh.is_dir() and busy.is_dir() and kept_bytecode.is_dir()
    assert not stale.exists() and not orphan.exists() and not unused.exists()

    # Once a day at most: a second look the same day does nothing, even with a busy build free.
    assert prune_cache(cache, now=now + 3600) == []
    assert busy.is_dir()
    assert prune_cache(cache, now=now + 86400 + 1) == [busy]


def test_a_relative_cache_dir_works_from_any_directory(tmp_path: Path) -> None:
    """The runtime dir's path goes to the cold starts, which run in the task root: a relative
    COLDPROF_CACHE_DIR gave 'No module named awslambdaric', blamed on the function."""
    from conftest import SAMPLES

    env = {**os.environ, "COLDPROF_CACHE_DIR": "relative-cache"}
    args = ("analyze", str(SAMPLES / "minimal"), "--runs", "1", "--bytecode-runs", "0")
    done = subprocess.run(
        coldprof_cmd(*args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "relative-cache" / "runtime").is_dir()
