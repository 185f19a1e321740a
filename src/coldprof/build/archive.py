"""Deployment zips checked before they are unpacked: no escapes, no links, no zip bombs."""

from __future__ import annotations

import calendar
import contextlib
import io
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from coldprof.errors import UsageError
from coldprof.lambda_facts import UNZIPPED_LIMIT_BYTES, ZIPPED_LIMIT_BYTES

# Lambda's own quotas are the caps: 50 MB zipped for a direct upload, 250 MB unzipped.
MAX_ZIPPED_BYTES = ZIPPED_LIMIT_BYTES
MAX_UNZIPPED_BYTES = UNZIPPED_LIMIT_BYTES
# Lambda publishes no entry cap; this one is far above any real package (a 250 MB tree of
# numpy, pandas and botocore holds about 20,000 files) and bounds the inodes a bomb can claim.
MAX_ENTRIES = 100_000

_CHUNK = 1024 * 1024


class ArchiveError(UsageError):
    """A deployment package that cannot be unpacked safely, or at all."""


@dataclass(frozen=True)
class ArchiveMember:
    """One entry that passed the checks: where it goes and what it declares."""

    name: str  # as stored in the zip
    parts: tuple[str, ...]  # the relative path it unpacks to
    is_dir: bool
    size: int  # declared uncompressed size
    executable: bool
    info: zipfile.ZipInfo = field(compare=False, repr=False)


@dataclass(frozen=True)
class ArchiveInfo:
    """What the central directory says about a checked archive."""

    members: tuple[ArchiveMember, ...]
    unzipped_bytes: int

    @property
    def files(self) -> int:
        return sum(1 for member in self.members if not member.is_dir)


def _unix_mode(info: zipfile.ZipInfo) -> int:
    # Only a zip made on Unix (create_system 3) carries st_mode in the high 16 bits; elsewhere
    # they hold other things, but a type other than "regular" or "directory" is refused anyway.
    return info.external_attr >> 16


def _member(info: zipfile.ZipInfo) -> ArchiveMember | None:
    """Check one entry; None for an entry that names the root itself (``./``)."""
    name = info.orig_filename
    shown = name if len(name) <= 200 else name[:200] + "..."
    if "\x00" in name:
        raise ArchiveError(f"archive entry {shown!r} has a NUL byte in its name")
    # Backslashes are not separators in a zip, but an archiver on Windows may have meant one:
    # refuse anything that would escape under either reading.
    for separator in ("/", "\\"):
        pieces = name.split(separator)
        if ".." in pieces:
            raise ArchiveError(f"archive entry {shown!r} escapes the task root (..)")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"archive entry {shown!r} is an absolute path")
    mode = _unix_mode(info)
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"archive entry {shown!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveError(f"archive entry {shown!r} is not a regular file or a directory")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"archive entry {shown!r} is encrypted")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if not parts:
        return None
    is_dir = name.endswith("/") or kind == stat.S_IFDIR
    return ArchiveMember(
        name=name,
        parts=parts,
        is_dir=is_dir,
        size=info.file_size,
        executable=bool(mode & 0o111),
        info=info,
    )


def open_archive(data: bytes) -> zipfile.ZipFile:
    """The zip in ``data``; ArchiveError when it is not one."""
    if len(data) > MAX_ZIPPED_BYTES:
        raise ArchiveError(
            f"the zipped package is {len(data)} bytes; it must be smaller than "
            f"{MAX_ZIPPED_BYTES} bytes"
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as e:
        raise ArchiveError(f"could not unzip the uploaded file: {e}") from e


def check_archive(
    archive: zipfile.ZipFile,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    max_entries: int = MAX_ENTRIES,
) -> ArchiveInfo:
    """Read the central directory and refuse what must not be unpacked, before unpacking."""
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise ArchiveError(f"the archive holds {len(infos)} entries; at most {max_entries} allowed")
    members: list[ArchiveMember] = []
    total = 0
    for info in infos:
        member = _member(info)
        if member is None:
            continue
        total += member.size
        if total > max_unzipped_bytes:
            raise ArchiveError(
                f"unzipped size must be smaller than {max_unzipped_bytes} bytes "
                f"(the archive declares more)"
            )
        members.append(member)
    return ArchiveInfo(tuple(members), total)


def extract_archive(
    data: bytes,
    destination: Path,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    max_entries: int = MAX_ENTRIES,
    read_only: bool = True,
) -> ArchiveInfo:
    """Check, then unpack ``data`` into the empty or missing ``destination``; read-only after.

    The size cap is enforced again while writing: a central directory can understate sizes.
    On any error the partly written tree is removed.
    """
    with open_archive(data) as archive:
        info = check_archive(archive, max_unzipped_bytes, max_entries)
        destination.mkdir(parents=True, exist_ok=True)
        root = destination.resolve()
        try:
            written = 0
            for member in info.members:
                target = root.joinpath(*member.parts)
                # Belt and braces: the name checks above should make this impossible.
                if target != root and root not in target.parents:
                    raise ArchiveError(f"archive entry {member.name!r} escapes the task root")
                if member.is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = _write_member(archive, member, target, written, max_unzipped_bytes)
        except ArchiveError:
            remove_tree(destination)
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as e:
            # RuntimeError: an encrypted entry zipfile noticed before we did.
            remove_tree(destination)
            raise ArchiveError(f"could not unzip the uploaded file: {e}") from e
    if read_only:
        make_read_only(destination)
    return info


def _write_member(
    archive: zipfile.ZipFile, member: ArchiveMember, target: Path, written: int, limit: int
) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    mode = 0o755 if member.executable else 0o644
    try:
        fd = os.open(target, flags, mode)
    except FileExistsError as e:
        raise ArchiveError(f"archive entry {member.name!r} appears twice") from e
    with os.fdopen(fd, "wb") as out, archive.open(member.info) as source:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise ArchiveError(
                    f"unzipped size must be smaller than {limit} bytes "
                    f"(found while unpacking {member.name!r})"
                )
            out.write(chunk)
    # Keep the entry's timestamp, as Lambda does: a timestamp-based .pyc is valid only while
    # its source's mtime matches, so giving every file the unpacking time would make all
    # shipped bytecode stale and every cold start recompile.
    try:
        stamp = calendar.timegm((*member.info.date_time, 0, 0, 0))
    except (OverflowError, ValueError):
        return written
    os.utime(target, (stamp, stamp))
    return written


def make_read_only(root: Path) -> None:
    """Drop write permission on the tree, as /var/task is read-only on Lambda."""
    for directory, dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(directory, name)
            os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & ~0o222)
        for name in dirs:
            os.chmod(os.path.join(directory, name), 0o555)
    os.chmod(root, 0o555)


def remove_tree(root: Path) -> None:
    """Remove a tree made read-only by ``make_read_only``; missing is fine."""
    if not root.exists():
        return
    for directory, dirs, _files in os.walk(root):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(directory, name), 0o755)
    with contextlib.suppress(OSError):
        os.chmod(root, 0o755)
    shutil.rmtree(root, ignore_errors=True)
