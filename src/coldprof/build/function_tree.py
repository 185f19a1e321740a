"""The function folder's files checked before anything is built, measured or deployed from them.

A symlink in the folder is followed when the package is built, zipped and counted, as `zip -r`
and `sam build` follow it. One that leaves the folder would ship whatever it points at
(`passwd.txt -> /etc/passwd`), so it is refused unless the user says it is meant. A link loop, a
broken link and a file name that is not UTF-8 (a zip entry could not name it) are refused too.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from coldprof.errors import UsageError

# Folders no function ships: not checked here, not searched for a handler, not copied into a build.
SKIP_DIRS = {"__pycache__", ".aws-sam", "node_modules", ".git", ".venv", "venv", ".pytest_cache"}


def _shown(path: str) -> str:
    return os.fsdecode(os.fsencode(path)).encode("utf-8", "backslashreplace").decode()


def check_function_tree(root: Path, follow_symlinks: bool = False) -> None:
    """Raise UsageError for the first link or name in ``root`` that cannot be packaged safely."""
    real_root = os.path.realpath(root)
    # Each folder to visit, with the real folders it was reached through: a loop is a folder
    # that leads back to one of them (the same folder reached twice along two paths is not).
    pending: list[tuple[str, frozenset[str]]] = [(os.fspath(root), frozenset({real_root}))]
    while pending:
        folder, ancestors = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as e:
            raise UsageError(f"{_shown(folder)}: cannot be read ({e.strerror or e})") from e
        for entry in listed:
            if entry.name in SKIP_DIRS:
                continue
            try:
                entry.name.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(
                    f"{_shown(entry.path)}: the file name is not valid UTF-8, and a Lambda zip "
                    "cannot hold it",
                    hint="rename the file",
                ) from None
            target = _link_target(entry.path) if entry.is_symlink() else None
            if target is not None:
                inside = target == real_root or target.startswith(real_root + os.sep)
                if not inside and not follow_symlinks:
                    raise UsageError(
                        f"{_shown(entry.path)} is a symlink to {_shown(target)}, outside the "
                        "function folder: it would be packaged and deployed",
                        hint="replace it with a copy, or pass --follow-symlinks if that is meant",
                    )
            if entry.is_dir():  # follows a link: its target's files are packaged too
                real = target or os.path.realpath(entry.path)
                if real in ancestors:
                    raise UsageError(
                        f"{_shown(entry.path)}: a symlink loop (it leads back to {_shown(real)})"
                    )
                if not os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    pending.append((entry.path, ancestors | {real}))


def _link_target(path: str) -> str:
    try:
        return os.path.realpath(path, strict=True)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UsageError(f"{_shown(path)}: a symlink loop") from e
        raise UsageError(
            f"{_shown(path)} is a broken symlink (to {_shown(os.readlink(path))})"
        ) from e
    except RuntimeError as e:  # some Pythons report a loop this way
        raise UsageError(f"{_shown(path)}: a symlink loop") from e
