"""The bytecode penalty: init without the package's .pyc files against init with them."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coldprof import stats
from coldprof.build.cache import PYCACHE_SOURCE, cache_root, mark_cache_entry, remove_path
from coldprof.errors import EnvironmentFailure
from coldprof.measure.coldstart import ColdStart
from coldprof.measure.distributions import Attribution, bytecode_fraction
from coldprof.measure.request import AnalyzeRequest
from coldprof.measure.series import Series
from coldprof.progress import Progress
from coldprof.runner import child, lambda_fs
from coldprof.runner.spec import EnvironmentSpec, layer_paths, seen_task_root


@dataclass(frozen=True)
class BytecodePenalty:
    """What init costs without the package's bytecode, with its 95 % interval."""

    ms: float
    ci95: tuple[float, float]
    runs: int

    @property
    def within_noise(self) -> bool:
        """An interval that holds 0 cannot tell the two sides apart."""
        return self.ci95[0] <= 0 <= self.ci95[1]


def _imported_sources(starts: Sequence[ColdStart], attribution: Attribution) -> list[Path]:
    modules = {row.module for start in starts for row in start.trace.rows}
    return [f for f in map(attribution.source_file, sorted(modules)) if f is not None]


# Run by the function's interpreter: bytecode is per Python version.
COMPILE_SCRIPT = Path(child.__file__).resolve().parent / "compile_bytecode.py"


def _compile_into(prefix: Path, pairs: Sequence[tuple[Path, Path]], python: str) -> None:
    """Write .pyc files for (source, path the function sees) pairs where
    PYTHONPYCACHEPREFIX=prefix will look for them, with the function's interpreter."""
    if not pairs:
        return
    data = json.dumps([[str(a), str(b)] for a, b in pairs])
    try:
        done = subprocess.run(
            [python, "-S", "-I", str(COMPILE_SCRIPT), str(prefix)],
            input=data,
            text=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return  # no bytecode: the runs compare less, and say so through their noise
    if done.returncode == 3:
        raise OSError(done.stderr.strip() or f"cannot write bytecode under {prefix}")


def _seen_by_function(
    measured: EnvironmentSpec, original: EnvironmentSpec
) -> list[tuple[Path, Path]]:
    """(host folder, the folder the function sees it as) for the package, layers and runtime."""
    if measured.filesystem == lambda_fs.LAMBDA:
        pairs = [(original.task_root, seen_task_root(measured))]
        pairs += [(layer, Path(lambda_fs.LAYERS_DIR)) for layer in original.layers]
        return [*pairs, (original.runtime_dir, Path(lambda_fs.RUNTIME_DIR))]
    pairs = [(original.task_root, measured.task_root)]
    pairs += list(zip(original.layers, measured.layers, strict=True))
    return pairs


def bytecode_penalty(
    measured: EnvironmentSpec,
    original: EnvironmentSpec,
    starts: Sequence[ColdStart],
    attribution: Attribution,
    request: AnalyzeRequest,
    progress: Progress,
) -> BytecodePenalty | None:
    """What init costs when the package's .py files have no bytecode, against when they have it,
    with its 95 % interval.

    Both sides run under PYTHONPYCACHEPREFIX with the standard library and runtime compiled, so
    only the package's own bytecode differs. The side the package already ships is the main runs.
    """
    sources = _imported_sources(starts, attribution)
    spec = original
    package_roots = [spec.task_root, *[p for layer in spec.layers for p in layer_paths(layer)]]
    folders = _seen_by_function(measured, original)

    def in_package(path: Path) -> bool:
        return any(path.is_relative_to(root) for root in package_roots)

    def seen(path: Path) -> Path:
        for host, view in folders:
            if path.is_relative_to(host):
                return view / path.relative_to(host)
        return path

    key = hashlib.sha256(
        f"{spec.task_root};{measured.filesystem};{spec.python}".encode()
    ).hexdigest()[:16]
    base = (request.cache_dir or cache_root()) / "pycache" / key
    fraction = bytecode_fraction(spec.task_root, attribution.task_root_files, cache_tag(spec))
    shipped = fraction >= 0.5
    outside = [(s, seen(s)) for s in sources if not in_package(s)]
    inside = [] if shipped else [(s, seen(s)) for s in sources if in_package(s)]
    try:
        compare_to = _bytecode_prefix(base, spec.task_root, outside, inside, spec.python)
    except OSError:
        # A damaged cache (a file where a directory belongs, a half-removed tree): start over.
        remove_path(base)
        try:
            compare_to = _bytecode_prefix(base, spec.task_root, outside, inside, spec.python)
        except OSError as e:
            raise EnvironmentFailure(
                f"the bytecode cache {base} cannot be written: {e.strerror or e}",
                hint="check the permissions of the cache (COLDPROF_CACHE_DIR)",
            ) from e
    try:
        return _bytecode_runs(measured, starts, compare_to, shipped, request, progress)
    finally:
        if compare_to != base / "without-package":
            shutil.rmtree(compare_to, ignore_errors=True)


def cache_tag(spec: EnvironmentSpec) -> str:
    """The .pyc tag of the function's interpreter ("cpython-312")."""
    return f"cpython-{spec.minor_version.replace('.', '')}"


def _bytecode_runs(
    spec: EnvironmentSpec,
    starts: Sequence[ColdStart],
    compare_to: Path,
    shipped: bool,
    request: AnalyzeRequest,
    progress: Progress,
) -> BytecodePenalty | None:
    # This side reads files the main runs do not: a run that read them from disk goes again.
    # (No blind warm-up where that cannot be seen: the main runs have warmed the rest.)
    series = Series(
        replace(spec, pycache_prefix=compare_to),
        warmup=0,
        evict=request.page_cache == "cold",
    )
    while len(series.kept) < request.bytecode_runs:
        _, failure = series.measure_one()
        if failure is not None:
            return None
        progress.advance()
    samples = [s.init_ms for s in series.kept]
    main = [s.init_ms for s in starts]
    # Without bytecode minus with it, as a shift between the two sets of runs (Hodges-Lehmann),
    # with its distribution-free interval: both hold for any shape the machine's noise takes.
    slow, fast = (samples, main) if shipped else (main, samples)
    penalty = stats.shift_estimate(fast, slow)
    low, high = stats.shift_ci(fast, slow)
    return BytecodePenalty(round(penalty, 3), (round(low, 3), round(high, 3)), len(samples))


def _bytecode_prefix(
    base: Path,
    task_root: Path,
    outside: Sequence[tuple[Path, Path]],
    inside: Sequence[tuple[Path, Path]],
    python: str,
) -> Path:
    """The PYCACHE_PREFIX the bytecode runs use: everything but the package compiled, plus the
    package's own files when ``inside`` lists them (the side a package without .pyc lacks)."""
    mark_cache_entry(base)
    (base / PYCACHE_SOURCE).write_text(str(task_root))  # also marks it used (prune_cache)
    without = base / "without-package"
    _compile_into(without, outside, python)
    if not inside:
        return without
    # This run's own copy: another analysis of the same function may be using its own.
    with_package = Path(tempfile.mkdtemp(prefix="with-package-", dir=base))
    try:
        shutil.copytree(without, with_package, symlinks=True, dirs_exist_ok=True)
        _compile_into(with_package, inside, python)
    except OSError:
        shutil.rmtree(with_package, ignore_errors=True)
        raise
    return with_package
