"""The runtime's own directory: only what the managed Python runtime provides, as symlinks."""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from coldprof.build.cache import cache_root, lock_path, locked, remove_path
from coldprof.build.names import normalize_name
from coldprof.errors import BuildError
from coldprof.runner.runtime_client import AWSLAMBDARIC, default_runtime_client

# What the managed Python runtime provides beside the standard library.
RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3")


def _requirement_names(requires: Sequence[str]) -> list[str]:
    names = []
    for requirement in requires:
        name_part, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", name_part)
        if match:
            names.append(match.group(1))
    return names


def runtime_distributions() -> list[metadata.Distribution]:
    """The managed runtime's packages and their dependencies, as installed beside coldprof."""
    return [dist for dist, _, _ in _runtime_metadata()]


def _runtime_metadata() -> list[tuple[metadata.Distribution, str, str]]:
    """Each runtime distribution with its name and version. Each METADATA file is parsed once:
    parsing is most of what this costs, and every analyze pays it."""
    seen: dict[str, tuple[metadata.Distribution, str, str]] = {}
    pending = list(RUNTIME_DISTRIBUTIONS)
    while pending:
        name = pending.pop()
        key = normalize_name(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another Python version or platform
        info = dist.metadata
        seen[key] = (dist, info["Name"], info["Version"])
        pending.extend(_requirement_names(info.get_all("Requires-Dist") or []))
    return [seen[k] for k in sorted(seen)]


def runtime_dir(cache: Path | None = None) -> Path:
    """A directory holding only what the managed runtime provides, assembled from RECORD files.

    Each top-level entry is a symlink into the installed site-packages; Python does not resolve
    them, so module files keep paths under this directory and attribute as the runtime's.
    """
    found = _runtime_metadata()
    installed = {normalize_name(name) for _, name, _ in found}
    # Without awslambdaric (it installs on Linux only) coldprof's stand-in runs the function.
    client = default_runtime_client()
    needed = [n for n in RUNTIME_DISTRIBUTIONS if n != AWSLAMBDARIC or client == AWSLAMBDARIC]
    missing = [n for n in needed if normalize_name(n) not in installed]
    if missing:
        raise BuildError(
            f"the runtime packages {', '.join(missing)} are not installed beside coldprof"
        )
    fingerprint = ";".join(f"{name}=={version}" for _, name, version in found)
    fingerprint += f";{sys.executable};{sys.version}"
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    destination = (cache or cache_root()) / "runtime" / digest
    if _runtime_dir_complete(destination):
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    with locked(lock_path(destination)):
        if _runtime_dir_complete(destination):
            return destination  # another process built it meanwhile
        # Missing, or damaged (emptied, an entry gone): a partial one would make every function
        # fail at init with "No module named awslambdaric", so it is built again.
        remove_path(destination)
        staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=destination.parent))
        entries = []
        for dist, _, _ in found:
            for top in _top_level_entries(dist):
                link = staging / top
                if link.exists() or link.is_symlink():
                    continue
                link.symlink_to(Path(str(dist.locate_file(top))))
                entries.append(top)
        (staging / _RUNTIME_ENTRIES).write_text("\n".join(entries) + "\n")
        try:
            staging.rename(destination)
        except OSError:  # an older coldprof, which takes no lock, finished first
            shutil.rmtree(staging, ignore_errors=True)
    return destination


# In each runtime dir, written last: the entries it must hold. Not a module name, so the
# function cannot import it.
_RUNTIME_ENTRIES = ".coldprof-entries"


def _runtime_dir_complete(directory: Path) -> bool:
    """Whether a cached runtime dir holds every entry it was built with, each still resolving."""
    try:
        listed = (directory / _RUNTIME_ENTRIES).read_text().split()
    except OSError:
        return False
    return bool(listed) and all(os.path.exists(directory / name) for name in listed)


def _top_level_entries(dist: metadata.Distribution) -> list[str]:
    tops: set[str] = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0] in ("..", "bin") or parts[0].endswith(".data"):
            continue
        if parts[0] == "__pycache__":
            continue
        if Path(str(dist.locate_file(parts[0]))).exists():
            tops.add(parts[0])
    return sorted(tops)
