"""Finding this process's cgroups from mountinfo and /proc/self/cgroup texts."""

from __future__ import annotations

from pathlib import Path

from coldprof.runner.cgroup_tree import (
    find_hierarchies,
    own_group_dir,
    parse_mountinfo,
    parse_proc_cgroup,
)

V1_MOUNTINFO = """\
30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct
36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/unified rw,nosuid shared:17 - cgroup2 cgroup2 rw,nsdelegate
"""
V1_PROC_CGROUP = """\
9:memory:/user.slice/session-1.scope
4:cpu,cpuacct:/user.slice
0::/user.slice/session-1.scope
"""


def test_v1_hierarchies_are_found_where_this_process_is() -> None:
    mounts = parse_mountinfo(V1_MOUNTINFO)
    assert [(m.version, str(m.mount_point)) for m in mounts] == [
        (1, "/sys/fs/cgroup/cpu,cpuacct"),
        (1, "/sys/fs/cgroup/memory"),
        (2, "/sys/fs/cgroup/unified"),
    ]
    paths = parse_proc_cgroup(V1_PROC_CGROUP)
    assert paths["cpuacct"] == "/user.slice" and paths[""] == "/user.slice/session-1.scope"
    found = find_hierarchies(V1_MOUNTINFO, V1_PROC_CGROUP)
    assert found["cpu"].version == 1
    assert found["cpu"].own_dir == Path("/sys/fs/cgroup/cpu,cpuacct/user.slice")
    assert found["memory"].own_dir == Path("/sys/fs/cgroup/memory/user.slice/session-1.scope")


def test_a_namespaced_mount_root_is_taken_off_the_path() -> None:
    (mount,) = parse_mountinfo("40 30 0:35 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    assert own_group_dir(mount, "/docker/abc") == Path("/sys/fs/cgroup")
    assert own_group_dir(mount, "/docker/abc/child") == Path("/sys/fs/cgroup/child")
    assert own_group_dir(mount, "/elsewhere") is None
