"""Build a function's package as `sam build` would: its requirements, then its code over them."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from coldprof.build.cache import (
    cache_root,
    lock_path,
    locked,
    mark_cache_entry,
    remove_path,
    safe_name,
)
from coldprof.build.dependencies import BUILD_WARNINGS, BuildTarget, pip_install
from coldprof.build.function_tree import SKIP_DIRS
from coldprof.build.handler import FunctionSource


def function_files(path: Path) -> Iterator[Path]:
    """The function's own files, relative to its directory (what a build lays over pip's)."""
    # Links are followed, as zip -r follows them: function_tree refused loops and, unless asked,
    # links that leave the folder.
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = [
            d for d in dirs if d not in SKIP_DIRS and not (Path(root) / d / "pyvenv.cfg").exists()
        ]
        for name in files:
            yield Path(root, name).relative_to(path)


def build_package(
    source: FunctionSource,
    target: BuildTarget | None = None,
    cache: Path | None = None,
    log: list[str] | None = None,
    variant: str = "",
    notes: list[str] | None = None,
    pins: Sequence[str] = (),
) -> Path:
    """pip install -r requirements.txt --target a cache, then lay the function's code over it.

    The cache is keyed by the requirements' hash, the target and ``pins`` (name==version
    constraints, e.g. the versions another platform's build resolved), so only a change there
    re-runs pip. ``variant`` stands for the folder's path in the key: audit --base unpacks the
    base into a new temporary folder each time, and keys its build by the head's path and
    "@base", so the build is reused and never shared with the head's.
    Returns the task root.
    """
    target = target or BuildTarget()
    requirements = source.requirements
    assert requirements is not None
    # Keyed by the folder's resolved path too: two functions in folders of the same name (a/fn,
    # b/fn) must never share a build, or each would measure the other's code.
    identity = variant or str(source.path.resolve())
    from coldprof.build.installer import choose

    chosen = choose(target.installer).installer.value  # a pip build and a uv one are apart
    key = f"{identity}\0{target.key}\0{chosen}\0".encode() + requirements.read_bytes()
    key += "\n".join(pins).encode()
    if target.compiled_by_target:
        key += b"\0bytecode by the target's Python"
    digest = hashlib.sha256(key).hexdigest()[:16]
    base = (cache or cache_root()) / "builds" / f"{safe_name(source.path.name)}-{digest}"
    root = base / "package"
    manifest = base / "function-files.txt"
    with locked(lock_path(base)):
        if not (base / "deps-complete").is_file() or not root.is_dir():
            constraints: list[str] = []  # a damaged build is redone
            if pins:
                base.mkdir(parents=True, exist_ok=True)
                (base / "constraints.txt").write_text("\n".join(pins) + "\n")
                constraints = ["-c", str(base / "constraints.txt")]
            pip_install(requirements, base, target, log, constraints)
        mark_cache_entry(base)
        if not manifest.is_file():
            remove_path(manifest)
        wanted = [str(relative) for relative in function_files(source.path)]
        previous = manifest.read_text().splitlines() if manifest.exists() else []
        for line in set(previous) - set(wanted):
            with contextlib.suppress(FileNotFoundError):
                (root / line).unlink()
        for relative in wanted:
            _update_file(source.path / relative, root / relative)
        manifest.write_text("\n".join(wanted))
        warnings = base / BUILD_WARNINGS
        if notes is not None and warnings.is_file():
            notes.extend(line for line in warnings.read_text().splitlines() if line)
    return root


def _update_file(source: Path, destination: Path) -> None:
    """Copy ``source`` over ``destination`` unless it is already there, by an atomic rename.

    Another analysis of the same function may be running from this build: it must never see a
    file missing or half written.
    """
    stat = source.stat()
    with contextlib.suppress(OSError):
        there = destination.stat()
        if (there.st_size, there.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    shutil.copy2(source, staging)
    os.replace(staging, destination)


def task_root_for(
    source: FunctionSource,
    build: bool = True,
    cache: Path | None = None,
    target: BuildTarget | None = None,
    variant: str = "",
    notes: list[str] | None = None,
    pins: Sequence[str] = (),
) -> Path:
    """The directory Lambda would see as /var/task for this function."""
    if build and source.needs_build:
        return build_package(
            source, target=target, cache=cache, variant=variant, notes=notes, pins=pins
        )
    return source.path


def resolved_versions(task_root: Path) -> list[str]:
    """name==version for every distribution a built package holds (its .dist-info folders)."""
    pins = []
    for info in sorted(task_root.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        if name and version:
            pins.append(f"{name}=={version}")
    return pins
