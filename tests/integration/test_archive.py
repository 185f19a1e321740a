"""Deployment zips: what is refused before unpacking, what is unpacked, and how."""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from coldprof.build.archive import (
    ArchiveError,
    check_archive,
    extract_archive,
    open_archive,
    remove_tree,
)


def build(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def test_a_package_unpacks_read_only_with_its_executable_bits(tmp_path: Path) -> None:
    data = build(
        [
            ("app.py", b"def handler(e, c): pass\n"),
            ("pkg/", b""),
            ("pkg/__init__.py", b""),
            (unix_entry("bin/tool", 0o100755), b"#!/bin/sh\n"),
            ("./pkg/data.txt", b"x" * 100),
        ]
    )
    destination = tmp_path / "task"
    info = extract_archive(data, destination)
    assert info.files == 4
    assert info.unzipped_bytes == len(b"def handler(e, c): pass\n") + len(b"#!/bin/sh\n") + 100
    assert (destination / "pkg" / "data.txt").read_bytes() == b"x" * 100
    for path in [destination, *destination.rglob("*")]:
        assert not stat.S_IMODE(path.stat().st_mode) & 0o222, path
    assert os.access(destination / "bin" / "tool", os.X_OK)
    assert not stat.S_IMODE((destination / "app.py").stat().st_mode) & 0o111
    remove_tree(destination)
    assert not destination.exists()


@pytest.mark.parametrize(
    "name",
    ["../escaped.py", "pkg/../../escaped.py", "/etc/cron.d/escaped", "..\\escaped.py", "C:/x.py"],
)
def test_paths_escaping_the_task_root_are_refused_before_anything_is_written(
    tmp_path: Path, name: str
) -> None:
    data = build([("app.py", b"ok"), (name, b"evil")])
    destination = tmp_path / "deep" / "task"
    with pytest.raises(ArchiveError, match="escapes|absolute"):
        extract_archive(data, destination)
    assert not destination.exists()
    assert [p.name for p in tmp_path.rglob("*")] == []


@pytest.mark.parametrize(
    ("mode", "match"),
    [(0o120777, "symbolic link"), (0o010644, "not a regular file"), (0o020644, "not a regular")],
)
def test_links_and_special_files_are_refused(tmp_path: Path, mode: int, match: str) -> None:
    data = build([("app.py", b"ok"), (unix_entry("etc", mode), b"/etc")])
    with pytest.raises(ArchiveError, match=match):
        extract_archive(data, tmp_path / "task")
    assert not (tmp_path / "task").exists()


def test_the_declared_size_is_capped_before_unpacking(tmp_path: Path) -> None:
    data = build([("a.bin", bytes(600)), ("b.bin", bytes(600))])
    with pytest.raises(ArchiveError, match="smaller than 1000 bytes"):
        extract_archive(data, tmp_path / "task", max_unzipped_bytes=1000)
    assert not (tmp_path / "task").exists()
    with open_archive(data) as archive:
        assert check_archive(archive, max_unzipped_bytes=1200).unzipped_bytes == 1200


def test_an_archive_that_understates_its_size_is_refused_and_removed(tmp_path: Path) -> None:
    data = bytearray(build([("app.py", b"ok"), ("big.bin", bytes(1024 * 1024))]))
    # Rewrite big.bin's uncompressed size in the central directory: 1 MiB claims to be 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    with open_archive(bytes(data)) as archive:
        assert check_archive(archive, max_unzipped_bytes=100).unzipped_bytes == 12
    with pytest.raises(ArchiveError):
        extract_archive(bytes(data), tmp_path / "task", max_unzipped_bytes=100)
    assert not (tmp_path / "task").exists()


def test_the_number_of_entries_is_capped(tmp_path: Path) -> None:
    data = build([(f"m{i}.py", b"") for i in range(6)])
    with pytest.raises(ArchiveError, match="6 entries; at most 5"):
        extract_archive(data, tmp_path / "task", max_entries=5)


def test_duplicates_garbage_and_encryption_are_refused(tmp_path: Path) -> None:
    duplicated = io.BytesIO()
    with zipfile.ZipFile(duplicated, "w") as archive:
        archive.writestr("app.py", b"one")
        with pytest.warns(UserWarning):
            archive.writestr("app.py", b"two")
    with pytest.raises(ArchiveError, match="twice"):
        extract_archive(duplicated.getvalue(), tmp_path / "dup")
    assert not (tmp_path / "dup").exists()

    with pytest.raises(ArchiveError, match="could not unzip"):
        extract_archive(b"not a zip at all", tmp_path / "garbage")

    encrypted = bytearray(build([("app.py", b"ok")]))
    central = encrypted.rfind(b"PK\x01\x02")
    flags = struct.unpack_from("<H", encrypted, central + 8)[0]
    struct.pack_into("<H", encrypted, central + 8, flags | 0x1)
    with pytest.raises(ArchiveError, match="encrypted"):
        extract_archive(bytes(encrypted), tmp_path / "enc")


def test_entries_keep_their_zip_timestamps(tmp_path: Path) -> None:
    import calendar

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("app.py", date_time=(2024, 5, 17, 10, 30, 42)), "x = 1\n")
    extract_archive(buffer.getvalue(), tmp_path / "task")
    expected = calendar.timegm((2024, 5, 17, 10, 30, 42, 0, 0, 0))
    assert os.stat(tmp_path / "task" / "app.py").st_mtime == expected


def test_shipped_bytecode_survives_the_deploy_zip(tmp_path: Path) -> None:
    """remote's deploy zip fixes every timestamp; its bytecode must still load, not recompile."""
    import py_compile
    import subprocess
    import sys

    from coldprof.remote.archive import build_zip

    package = tmp_path / "package"
    package.mkdir()
    (package / "mod.py").write_text("VALUE = 42\n")
    py_compile.compile(str(package / "mod.py"), doraise=True)  # timestamp-based, as pip writes
    task = tmp_path / "task"
    extract_archive(build_zip(package, f"{sys.version_info[0]}.{sys.version_info[1]}"), task)
    done = subprocess.run(
        [sys.executable, "-v", "-S", "-c", "import mod; print(mod.VALUE)"],
        cwd=task, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert done.stdout.strip() == "42", done.stderr[-2000:]
    loaded = [line for line in done.stderr.splitlines() if "mod." in line and ".pyc" in line]
    assert any("code object from" in line for line in loaded), loaded
    assert "bytecode is stale for 'mod'" not in done.stderr
