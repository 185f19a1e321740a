"""Lambda's filesystem for each cold start: /var/task read-only, layers at /opt, a fresh /tmp."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LAMBDA = "lambda"  # private mount namespace: the package really is /var/task, read-only
COPY = "copy"  # fallback: a read-only copy of the package and a TMPDIR per cold start
HOST = "host"  # the directories as they are (the advisor's traced start, py-spy)
FORCE_ENV = "COLDPROF_FILESYSTEM"  # "copy" forces the fallback; "lambda" refuses it

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
LAYERS_DIR = "/opt"
PYCACHE_DIR = "/var/coldprof-pycache"
TMP_SIZE = "512m"  # Lambda's default ephemeral storage

COPY_CAVEAT = (
    "filesystem: copy (the kernel refused a private mount namespace): the package ran from a "
    "copy, not /var/task; LAMBDA_TASK_ROOT names the copy; it is read-only by file mode only, "
    "which root ignores; /tmp is the machine's, with TMPDIR set to an empty folder per cold start"
)


def copy_caveat(reason: str | None) -> str:
    """COPY_CAVEAT, with why the copy was used when it was not the kernel's refusal."""
    if reason is None:
        return COPY_CAVEAT
    return COPY_CAVEAT.replace("the kernel refused a private mount namespace", reason, 1)

# Run by coldprof's own interpreter (-S -I) before the function's: enter a private mount
# namespace (and a user namespace when not root), lay out Lambda's directories, then tell the
# parent the monotonic time and exec the runtime. The parent times init from that moment, so
# none of this setup is counted as init.
_LAUNCHER = r"""
import ctypes, json, os, sys, time
cfg = json.loads(sys.argv[1])
ready = int(cfg["ready_fd"])
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = (ctypes.c_char_p,) * 3 + (ctypes.c_ulong, ctypes.c_char_p)
def fail(what):
    err = ctypes.get_errno()
    os.write(ready, ("error %s: %s" % (what, os.strerror(err))).encode())
    os._exit(97)
def mount(src, dst, fstype, flags, data=None):
    if libc.mount(src and src.encode(), dst.encode(), fstype and fstype.encode(), flags,
                  data and data.encode()) != 0:
        fail("mount %s on %s" % (src or fstype, dst))
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 16384, 1 << 18)
uid, gid = os.geteuid(), os.getegid()
flags = 0x00020000  # CLONE_NEWNS
if uid != 0:
    flags |= 0x10000000  # CLONE_NEWUSER
if libc.unshare(flags) != 0:
    fail("unshare")
if uid != 0:
    for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid),
                       ("gid_map", "0 %d 1" % gid)):
        with open("/proc/self/" + name, "w") as handle:
            handle.write(text)
mount(None, "/", None, MS_REC | MS_PRIVATE)
def bind_ro(src, dst):
    os.makedirs(dst, exist_ok=True)
    mount(src, dst, None, MS_BIND | MS_REC)
    locked = os.statvfs(dst).f_flag & (MS_NOSUID | MS_NODEV)
    mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | locked)
mount("tmpfs", "/var", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
bind_ro(cfg["task_root"], "/var/task")
bind_ro(cfg["runtime_dir"], "/var/runtime")
if cfg.get("pycache"):
    bind_ro(cfg["pycache"], "/var/coldprof-pycache")
layers = cfg["layers"]
if len(layers) == 1:
    bind_ro(layers[0], "/opt")
elif layers:  # merged as Lambda extracts them: a later layer's file wins
    mount("overlay", "/opt", "overlay", MS_RDONLY,
          "lowerdir=" + ":".join(reversed(layers)))
mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=" + cfg["tmp_size"])
os.chdir("/var/task")
argv = cfg["argv"]
io = {}
try:
    for line in open("/proc/self/io"):
        key, _, value = line.partition(":")
        io[key] = int(value)
except (OSError, ValueError):
    pass
try:
    with open("/proc/self/schedstat") as handle:
        run_ns = int(handle.read().split()[0])
except (OSError, ValueError, IndexError):
    run_ns = 0
os.write(ready, ("ok %.9f %d %d %d %d" % (
    time.clock_gettime(time.CLOCK_MONOTONIC), io.get("read_bytes", 0), io.get("rchar", 0),
    io.get("syscr", 0), run_ns)).encode())
os.close(ready)
os.execve(argv[0], argv, cfg["env"])
"""


class FilesystemError(Exception):
    """The private mount namespace could not be set up."""


def launcher_command(
    argv: Sequence[str],
    env: dict[str, str],
    task_root: Path,
    runtime_dir: Path,
    layers: Sequence[Path],
    pycache: Path | None,
    ready_fd: int,
) -> list[str]:
    config = {
        "ready_fd": ready_fd,
        "task_root": str(task_root),
        "runtime_dir": str(runtime_dir),
        "layers": [str(p) for p in layers],
        "pycache": str(pycache) if pycache else None,
        "tmp_size": TMP_SIZE,
        "argv": list(argv),
        "env": env,
    }
    return [sys.executable, "-S", "-I", "-c", _LAUNCHER, json.dumps(config)]


@dataclass(frozen=True)
class LauncherCost:
    """What the launcher itself had spent by its exec: the runtime's process totals (the same
    process after exec) include it, and it is not the function's init."""

    disk_read_bytes: int = 0
    read_chars: int = 0
    read_calls: int = 0
    cpu_ms: float = 0.0


def read_ready(
    fd: int, proc: subprocess.Popen[bytes], timeout: float = 10.0
) -> tuple[float, LauncherCost]:
    """The launcher's exec time (perf_counter clock) and what it had spent by then, or
    FilesystemError with its reason."""
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
            elif proc.poll() is not None and not data:
                break
    finally:
        os.close(fd)
    text = data.decode(errors="replace")
    if text.startswith("ok "):
        _, at, read_bytes, rchar, syscr, run_ns = text.split()
        return float(at), LauncherCost(int(read_bytes), int(rchar), int(syscr), int(run_ns) / 1e6)
    raise FilesystemError(text.removeprefix("error ").strip() or "the launcher exited")


# The folders Lambda's filesystem lays over the host's: what the runtime needs from the host must
# not live under them (a checkout in /tmp, a venv in /opt), or it would vanish at exec.
REPLACED = ("/tmp", "/var", LAYERS_DIR)


def hidden_host_path() -> str | None:
    """A folder coldprof's runtime needs (its interpreter, its packages, which the runtime
    directory links to) that Lambda's filesystem would hide; None when there is none."""
    import coldprof

    needed = {
        sys.prefix,
        sys.base_prefix,
        os.path.dirname(sys.executable),
        os.path.dirname(os.path.realpath(sys.executable)),
        os.path.dirname(os.path.abspath(coldprof.__file__)),
    }
    for path in sorted(needed):
        for root in REPLACED:
            if path == root or path.startswith(root + os.sep):
                return path
    return None


def _under(path: str, roots: Iterable[str]) -> str | None:
    return next((r for r in roots if path == r or path.startswith(r + os.sep)), None)


def hidden_folder(folders: Iterable[Path]) -> str | None:
    """Why Lambda's filesystem cannot hold these folders (the package, the runtime directory,
    the layers), or None. The launcher lays a fresh /var first and then mounts each folder from
    where it is, so a folder under /var is gone by then (a Jenkins workspace in /var/lib); and
    a link inside a folder is followed only when the function runs, after /tmp and /opt are
    replaced too (a local layer's python/ links to the project, which may be in /tmp)."""
    for folder in folders:
        real = os.path.realpath(folder)
        root = _under(real, ("/var",))
        links: list[Path] = []
        with contextlib.suppress(OSError):
            links = [child for child in folder.iterdir() if child.is_symlink()]
        for link in links:
            if root is None:
                real = os.path.realpath(link)
                root = _under(real, REPLACED)
        if root is not None:
            return f"{real} is under {root}, which Lambda's filesystem lays over the host's"
    return None


@functools.lru_cache(maxsize=1)
def namespace_refusal() -> str | None:
    """None when this kernel lets coldprof lay out Lambda's filesystem, else why not."""
    if not sys.platform.startswith("linux"):
        return f"private mount namespaces are Linux only (this is {sys.platform})"
    hidden = hidden_host_path()
    if hidden is not None:
        return (
            f"coldprof runs from {hidden}, which Lambda's filesystem would hide (it lays its own "
            f"{', '.join(REPLACED)} over the host's)"
        )
    with tempfile.TemporaryDirectory(prefix="coldprof-fs-probe-") as scratch:
        root = Path(scratch)
        (root / "task").mkdir()
        (root / "runtime").mkdir()
        read, write = os.pipe()
        command = launcher_command(
            ["/bin/true"], {}, root / "task", root / "runtime", [], None, write
        )
        try:
            proc = subprocess.Popen(command, pass_fds=(write,), stdin=subprocess.DEVNULL)
        except OSError as e:
            os.close(read)
            os.close(write)
            return str(e)
        os.close(write)
        try:
            read_ready(read, proc)
        except FilesystemError as e:
            proc.wait()
            return str(e)
        proc.wait()
    return None


def choose_mode(requested: str | None = None, folders: Iterable[Path] = ()) -> str:
    """ "lambda" where the kernel allows it and ``folders`` can be laid out in it (see
    hidden_folder), else "copy"; COLDPROF_FILESYSTEM or ``requested`` may force "copy". Asking
    for "lambda" where it is refused is an error, not a fallback."""
    from coldprof.errors import UsageError

    wanted = (requested or os.environ.get(FORCE_ENV, "")).strip().lower() or None
    if wanted not in (None, LAMBDA, COPY):
        raise UsageError(f"{FORCE_ENV}={wanted}: expected lambda or copy")
    if wanted == COPY:
        return COPY
    refusal = namespace_refusal() or hidden_folder(folders)
    if refusal is None:
        return LAMBDA
    if wanted == LAMBDA:
        raise UsageError(f"Lambda's filesystem cannot be laid out here: {refusal}")
    return COPY


def read_only_copy(source: Path, destination: Path) -> Path:
    """A copy of ``source`` whose files and folders carry no write bit. Symlinks stay links."""
    shutil.copytree(source, destination, symlinks=True)
    for root, dirs, files in os.walk(destination):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
        for name in dirs:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
    destination.chmod(destination.stat().st_mode & ~0o222)
    return destination


def remove_read_only(path: Path) -> None:
    """Remove a tree made by read_only_copy (its folders need their write bit back first)."""
    if not path.exists():
        return
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            with contextlib.suppress(OSError):
                full = Path(root, name)
                if not full.is_symlink():
                    full.chmod(full.stat().st_mode | stat.S_IWUSR)
    with contextlib.suppress(OSError):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(path, ignore_errors=True)


# -- the page cache ---------------------------------------------------------------------------
PAGE_CACHE_MODES = ("warm", "cold")


def evict(roots: Iterable[Path]) -> int:
    """Drop the files under ``roots`` from the page cache (POSIX_FADV_DONTNEED), as a fresh
    Lambda environment reads its code from storage. Returns how many files it advised."""
    advised = 0
    for root in roots:
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = [d for d in dirs if not Path(folder, d).is_symlink()]
            for name in files:
                try:
                    fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:
                    continue
                try:
                    # Dirty pages (a fresh build not yet written back) cannot be dropped.
                    with contextlib.suppress(OSError):
                        os.fdatasync(fd)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    advised += 1
                except OSError:
                    pass
                finally:
                    os.close(fd)
    return advised
