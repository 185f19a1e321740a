"""Where this process sits in the cgroup hierarchies, read from /proc/self/mountinfo and /cgroup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mount:
    """One cgroup filesystem from /proc/self/mountinfo."""

    version: int  # 1 or 2
    mount_point: Path
    root: str  # the path inside the hierarchy that is mounted there
    controllers: frozenset[str]  # v1: the controllers of this hierarchy; v2: empty


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup mounts in a /proc/PID/mountinfo text."""
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        if not sep:
            continue
        fields = head.split()
        rest = tail.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        fstype, options = rest[0], rest[2]
        mount_point = Path(_unescape(fields[4]))
        root = _unescape(fields[3])
        if fstype == "cgroup2":
            mounts.append(Mount(2, mount_point, root, frozenset()))
        elif fstype == "cgroup":
            mounts.append(Mount(1, mount_point, root, frozenset(options.split(","))))
    return mounts


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/PID/cgroup → {controller: path}; the v2 (unified) entry is under ""."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            paths[""] = path
            continue
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def own_group_dir(mount: Mount, path: str) -> Path | None:
    """Where a process's group (``path`` from /proc/self/cgroup) is, under ``mount``."""
    root = mount.root.rstrip("/")
    if root and path != root and not path.startswith(root + "/"):
        return None  # the group is outside what this mount shows
    relative = path[len(root) :].lstrip("/")
    return mount.mount_point / relative if relative else mount.mount_point


@dataclass(frozen=True)
class Hierarchy:
    """A controller's directory for this process: a v1 hierarchy, or the v2 unified tree."""

    version: int
    own_dir: Path  # the group this process is in


def find_hierarchies(mountinfo: str, proc_cgroup: str) -> dict[str, Hierarchy]:
    """{"cpu": ..., "memory": ...} for the controllers this process can be found in.

    A v1 hierarchy is preferred where both exist: on a hybrid host the v2 tree carries no
    controllers.
    """
    mounts = parse_mountinfo(mountinfo)
    paths = parse_proc_cgroup(proc_cgroup)
    found: dict[str, Hierarchy] = {}
    for controller in ("cpu", "memory"):
        for mount in mounts:
            if mount.version == 1 and controller in mount.controllers and controller in paths:
                directory = own_group_dir(mount, paths[controller])
                if directory is not None:
                    found[controller] = Hierarchy(1, directory)
                    break
        else:
            for mount in mounts:
                if mount.version == 2 and "" in paths:
                    directory = own_group_dir(mount, paths[""])
                    if directory is not None and _v2_has(directory, controller):
                        found[controller] = Hierarchy(2, directory)
                        break
    return found


def _v2_has(directory: Path, controller: str) -> bool:
    try:
        return controller in (directory / "cgroup.controllers").read_text().split()
    except OSError:
        return False
