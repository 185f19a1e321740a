"""coldprof's cache: where it lives, its entries and their locks, and keeping it bounded."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def cache_root() -> Path:
    """Where builds and the runtime dir are cached: $COLDPROF_CACHE_DIR, else the XDG cache."""
    explicit = os.environ.get("COLDPROF_CACHE_DIR")
    if explicit:
        # Absolute: the runtime dir's path goes to children that run in another directory.
        return Path(explicit).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "coldprof"


# In every cache entry coldprof makes: pruning removes only what carries it, so a cache folder
# that also holds the user's own files (COLDPROF_CACHE_DIR=~/work) never loses one of them.
CACHE_MARKER = ".coldprof-entry"
_CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# coldprof's cache: safe to delete.\n"


def mark_cache_entry(entry: Path) -> None:
    """Mark ``entry`` (a folder) as coldprof's own, and tag the cache root for backup tools."""
    entry.mkdir(parents=True, exist_ok=True)
    (entry / CACHE_MARKER).touch()
    tag = entry.parent.parent / "CACHEDIR.TAG"  # <root>/<kind>/<entry>
    if not tag.exists():
        with contextlib.suppress(OSError):
            tag.write_text(_CACHEDIR_TAG)


def lock_path(entry: Path) -> Path:
    """The lock beside a cache entry: the entry's whole name plus .lock (names may hold dots)."""
    return entry.parent / f"{entry.name}.lock"


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "function"


def writable_cache(cache: Path | None = None) -> tuple[Path, str | None]:
    """The cache to use, and a note when it had to be a temporary one.

    Checked by writing to it, not by its permission bits (root ignores them). A cache that
    cannot be written gives way to a temporary one, removed when coldprof exits, so the run
    still measures and reports; only what it built is not kept.
    """
    root = cache or cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-check-"):
            pass
    except OSError as e:
        import atexit

        fallback = Path(tempfile.mkdtemp(prefix="coldprof-cache-"))
        atexit.register(shutil.rmtree, fallback, ignore_errors=True)
        return fallback, (
            f"the cache {root} cannot be written ({e.strerror or e}): this run used a temporary "
            "cache, so its build will not be reused (set COLDPROF_CACHE_DIR to a writable folder)"
        )
    return root, None


def _flock(handle: IO[str], wait: bool) -> None:
    """An exclusive lock on an open file; OSError when ``wait`` is False and it is taken."""
    if sys.platform == "win32":
        import msvcrt

        mode = msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK  # type: ignore[attr-defined]
        msvcrt.locking(handle.fileno(), mode, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unflock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        _flock(handle, wait=True)
        try:
            yield
        finally:
            _unflock(handle)


def remove_path(path: Path) -> None:
    """Remove whatever is at ``path`` (a directory, a file, a link); nothing there is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- keeping the cache bounded -------------------------------------------------------------------
CACHE_KEEP_DAYS = 30
PYCACHE_SOURCE = "task-root.txt"  # in each pycache/<key>/: the task root it was compiled for
_PRUNED_STAMP = "last-pruned"


def prune_cache(cache: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove, at most once a day, builds unused for CACHE_KEEP_DAYS and bytecode compiled for
    task roots that are gone or unused as long. Returns what it removed.

    A build is in use while its lock is held, and each use rewrites its file list, so a build is
    only removed under its lock and when that list is old. Bytecode is rebuilt when missing.
    """
    root = cache or cache_root()
    now = time.time() if now is None else now
    stamp = root / _PRUNED_STAMP
    with contextlib.suppress(OSError):
        if now - stamp.stat().st_mtime < 86400:
            return []
    try:
        stamp.touch()
        os.utime(stamp, (now, now))
        return _prune(root, now - CACHE_KEEP_DAYS * 86400)
    except OSError:
        return []  # a cache coldprof cannot tidy is still a cache: never fail a run over it


def _prune(root: Path, oldest: float) -> list[Path]:
    removed: list[Path] = []
    builds = root / "builds"
    for base in sorted(builds.iterdir()) if builds.is_dir() else []:
        if not base.is_dir() or not (base / CACHE_MARKER).is_file():
            continue
        if _last_used(base / "function-files.txt", base) >= oldest:
            continue
        with _try_locked(lock_path(base)) as locked:
            if locked and _last_used(base / "function-files.txt", base) < oldest:
                shutil.rmtree(base, ignore_errors=True)
                removed.append(base)
    pycache = root / "pycache"
    for compiled in sorted(pycache.iterdir()) if pycache.is_dir() else []:
        if not compiled.is_dir() or not (compiled / CACHE_MARKER).is_file():
            continue
        try:
            task_root = Path((compiled / PYCACHE_SOURCE).read_text().strip())
        except OSError:
            task_root = None  # compiled before the task root was recorded: age decides
        gone = task_root is not None and not task_root.is_dir()
        if gone or _last_used(compiled / PYCACHE_SOURCE, compiled) < oldest:
            shutil.rmtree(compiled, ignore_errors=True)
            removed.append(compiled)
    return removed


def _last_used(path: Path, fallback: Path) -> float:
    for candidate in (path, fallback):
        with contextlib.suppress(OSError):
            return candidate.stat().st_mtime
    return 0.0


@contextlib.contextmanager
def _try_locked(lock_path: Path) -> Iterator[bool]:
    """Like locked, without waiting: yields whether the lock was taken."""
    try:
        handle = open(lock_path, "w")
    except OSError:
        yield False
        return
    with handle:
        try:
            _flock(handle, wait=False)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            _unflock(handle)
