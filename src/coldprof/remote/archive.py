"""The deterministic zip a deployed function is uploaded as, layers folded in."""

from __future__ import annotations

import importlib.util
import io
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path

_ZIP_SKIP_DIRS = {".git", ".venv", "venv", ".aws-sam", "node_modules", ".pytest_cache"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_includes(root: Path, path: Path, cache_tag: str | None = None) -> bool:
    """Whether the zip takes `path`: not inside a VCS or venv folder, not another Python's .pyc."""
    parts = path.relative_to(root).parts
    if any(part in _ZIP_SKIP_DIRS for part in parts[:-1]):
        return False
    if cache_tag and path.suffix == ".pyc" and "__pycache__" in parts:
        # Bytecode for another Python is dead weight on Lambda: it is never loaded.
        return f".{cache_tag}." in path.name
    return True


def build_zip(
    root: Path, python_version: str | None = None, layer_roots: Sequence[Path] = ()
) -> bytes:
    """A deterministic deflate zip of `root`: sorted entries, fixed times, normalised modes.

    `layer_roots` (a layer's python/ folder) are folded in under the package's own files: those
    come first on Lambda's sys.path, so they win where both hold a file. Folding needs no
    PublishLayerVersion, so nothing beyond the temporary function is left to clean up.
    """
    cache_tag = f"cpython-{python_version.replace('.', '')}" if python_version else None
    from coldprof.measure.distributions import walk_files

    entries: dict[str, Path] = {}
    for base in (root, *layer_roots):
        for p in walk_files(base):
            name = p.relative_to(base).as_posix()
            if name not in entries and zip_includes(base, p, cache_tag):
                entries[name] = p
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, path in sorted(entries.items()):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            mode = path.stat().st_mode
            executable = bool(mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.create_system = 3  # Unix, so the modes above are honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(
                info, _portable_bytecode(path) if path.suffix == ".pyc" else path.read_bytes()
            )
    return buffer.getvalue()


def _portable_bytecode(path: Path) -> bytes:
    """A .pyc that stays valid in a zip with fixed timestamps: unchecked-hash, not timestamp.

    pip writes timestamp-based bytecode, valid only while its source's mtime matches. This zip
    gives every entry the same fixed time, so Lambda would find all of it stale and recompile
    the package at every cold start, unlike the package analyze measured. Only the 16-byte
    header changes (PEP 552): the flags say "hash-based, do not check the source".
    """
    data = path.read_bytes()
    flags = int.from_bytes(data[4:8], "little") if len(data) >= 16 else -1
    source = path.parent.parent / f"{path.name.split('.', 1)[0]}.py"
    if flags != 0 or path.parent.name != "__pycache__" or not source.is_file():
        return data  # already hash-based, or not a module's cached bytecode: leave it be
    source_hash = importlib.util.source_hash(source.read_bytes())
    return data[:4] + (0b01).to_bytes(4, "little") + source_hash + data[16:]
