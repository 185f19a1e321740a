"""What a live process has spent so far, from /proc: CPU time, bytes read, shared libraries."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ProcessSample:
    """A process's totals at one instant (the end of init): the features the Lambda estimate
    reads. None where this kernel does not say."""

    cpu_ms: float | None  # user + system, every thread
    read_chars: int | None  # /proc/PID/io rchar: bytes through read(), page cache or not
    read_calls: int | None  # syscr
    disk_read_bytes: int | None  # read_bytes: what the page cache could not serve
    shared_libraries: int | None  # distinct .so files mapped
    # Resident bytes of the package's own .so files (task root, layers): what init made Lambda
    # fetch of them; the interpreter's own libraries are the runtime's.
    package_library_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_ms": self.cpu_ms,
            "read_chars": self.read_chars,
            "read_calls": self.read_calls,
            "disk_read_bytes": self.disk_read_bytes,
            "shared_libraries": self.shared_libraries,
            "package_library_bytes": self.package_library_bytes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessSample:
        def integer(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        cpu = data.get("cpu_ms")
        return cls(
            cpu_ms=None if cpu is None else float(cpu),
            read_chars=integer("read_chars"),
            read_calls=integer("read_calls"),
            disk_read_bytes=integer("disk_read_bytes"),
            shared_libraries=integer("shared_libraries"),
            package_library_bytes=integer("package_library_bytes"),
        )


def parse_stat_cpu_ticks(text: str) -> int:
    """utime + stime from a /proc/PID/stat line, in clock ticks.

    The command name (field 2) may hold spaces and parentheses: fields are counted from the
    last ')'.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(rest[11]) + int(rest[12])


def parse_io(text: str) -> dict[str, int]:
    """/proc/PID/io → {name: value}."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and value.strip().isdigit():
            values[name.strip()] = int(value)
    return values


def shared_library_paths(maps_text: str) -> set[str]:
    """Distinct shared objects mapped, from a /proc/PID/maps text."""
    paths = set()
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            path = fields[5].strip().removesuffix(" (deleted)")
            name = path.rsplit("/", 1)[-1]
            if ".so" in name and (name.endswith(".so") or ".so." in name):
                paths.add(path)
    return paths


def resident_library_bytes(smaps_text: str, roots: Sequence[Path]) -> int:
    """Bytes of shared objects under ``roots`` that are resident, from a /proc/PID/smaps text:
    the pages the init touched, not the whole file it mapped (a 700 MB library may be touched
    for a few MB)."""
    total = 0
    counting = False
    for line in smaps_text.splitlines():
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if "-" in first and not first.endswith(":"):  # a mapping's header line
            fields = line.split(maxsplit=5)
            path = fields[5].strip() if len(fields) == 6 else ""
            name = path.rsplit("/", 1)[-1]
            is_library = name.endswith(".so") or ".so." in name
            counting = is_library and any(Path(path).is_relative_to(root) for root in roots)
        elif counting and first == "Rss:":
            total += int(line.split()[1]) * 1024
    return total


def _schedstat_cpu_ms(pid: int) -> float | None:
    # Nanoseconds on CPU per thread: far finer than /proc/PID/stat's 10 ms ticks, which are
    # coarse against a 40 ms init.
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        for task in tasks:
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e6


def _stat_cpu_ms(pid: int) -> float | None:
    try:
        ticks = parse_stat_cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def sample(pid: int, package_roots: Sequence[Path] = ()) -> ProcessSample:
    """The totals of a live process; fields it cannot read are None."""
    roots = [Path(os.path.realpath(root)) for root in package_roots]
    cpu_ms = _schedstat_cpu_ms(pid)
    if cpu_ms is None:
        cpu_ms = _stat_cpu_ms(pid)
    try:
        io: dict[str, int] = parse_io(Path(f"/proc/{pid}/io").read_text())
    except OSError:
        io = {}
    try:
        libraries: set[str] | None = shared_library_paths(Path(f"/proc/{pid}/maps").read_text())
    except OSError:
        libraries = None
    try:
        resident: int | None = resident_library_bytes(Path(f"/proc/{pid}/smaps").read_text(), roots)
    except (OSError, ValueError, IndexError):
        resident = None
    return ProcessSample(
        cpu_ms=None if cpu_ms is None else round(cpu_ms, 3),
        read_chars=io.get("rchar"),
        read_calls=io.get("syscr"),
        disk_read_bytes=io.get("read_bytes"),
        shared_libraries=None if libraries is None else len(libraries),
        package_library_bytes=resident,
    )


def disk_read_bytes(pid: int) -> int | None:
    """What a live process has read from storage so far (/proc/PID/io's read_bytes, which
    counts only reads the page cache could not serve), or None where the kernel does not say."""
    try:
        accounting = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return None
    for line in accounting.splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return None


def peak_rss_mb(pid: int) -> int:
    """A live process's peak resident memory (VmHWM) in MB; 0 where it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0
