"""A function as it was at a git ref, unpacked into a temporary folder; the checkout untouched."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from coldprof.errors import UsageError

GIT_TIMEOUT_S = 120  # `git archive` of a large function on a slow disk; never forever


@dataclass(frozen=True)
class BaseCheckout:
    """Where the function's files at ``ref`` were unpacked, and the commit the ref named."""

    path: Path  # the same file or folder as the path asked for, under a temporary root
    ref: str
    commit: str


def _git(cwd: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as e:
        raise UsageError("--base needs git, and git is not on PATH") from e
    except subprocess.TimeoutExpired as e:
        raise UsageError(f"--base: `git {args[0]}` took over {GIT_TIMEOUT_S} s") from e


def _text(completed: subprocess.CompletedProcess[bytes]) -> str:
    return completed.stdout.decode(errors="replace").strip()


def resolve(path: Path, ref: str) -> tuple[Path, str, PurePosixPath]:
    """The repository's top folder, the commit ``ref`` names, and ``path`` inside the repo."""
    folder = path if path.is_dir() else path.parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--base {ref}: {path} is not inside a git repository")
    root = Path(_text(top))
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise UsageError(
            f"--base {ref}: no such commit in {root}",
            hint="in CI, fetch it first (actions/checkout with fetch-depth: 0, or "
            f"`git fetch origin {ref.removeprefix('origin/')}`)",
        )
    relative = PurePosixPath(path.resolve().relative_to(root.resolve()).as_posix())
    return root, _text(commit), relative


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """git's own archive of the user's repository, still checked: no escapes, no devices."""
    members = []
    for member in archive.getmembers():
        parts = PurePosixPath(member.name).parts
        if member.name.startswith("/") or ".." in parts:
            raise UsageError(f"--base: git archive holds an unsafe path {member.name!r}")
        if member.type == tarfile.XGLTYPE or member.name == "pax_global_header":
            continue  # git's commit id, not a file
        if not (member.isfile() or member.isdir() or member.issym()):
            continue
        members.append(member)
    return members


@contextlib.contextmanager
def function_at(path: Path, ref: str) -> Iterator[BaseCheckout | None]:
    """Unpack the function's folder as committed at ``ref`` (``git archive``, which only reads
    the repository) into a temporary folder that is removed afterwards.

    Yields None when the function did not exist at ``ref`` (a new function: nothing to compare).
    Only committed files are there: what .gitignore keeps out (a vendored build) is missing.
    """
    root, commit, relative = resolve(path, ref)
    folder = relative if path.is_dir() else relative.parent
    spec = f"{commit}:{folder.as_posix()}" if folder.parts else f"{commit}:"
    if _git(root, "cat-file", "-e", spec).returncode != 0:
        yield None
        return
    archived = _git(root, "archive", "--format=tar", commit, "--", folder.as_posix() or ".")
    if archived.returncode != 0:
        message = archived.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"--base {ref}: git archive failed: {message[-1] if message else '?'}")
    scratch = Path(tempfile.mkdtemp(prefix="coldprof-base-"))
    try:
        # The repository's name as the top folder, so a path relative to it reads the same.
        top = scratch / root.name
        top.mkdir()
        # Python's own extraction checks too, where it has them (3.12, and 3.9-3.11 patches).
        checks = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
        with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as archive:
            for member in _safe_members(archive):
                archive.extract(member, top, set_attrs=member.isfile(), **checks)  # type: ignore[arg-type]
        target = top / relative
        if not target.exists():
            yield None
            return
        yield BaseCheckout(target, ref, commit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
