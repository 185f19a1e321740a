"""Which dependency each module belongs to (RECORD files first), and what it weighs, zipped too."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import sysconfig
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from stat import S_ISREG

from coldprof.build.names import normalize_name
from coldprof.results.dependency_kind import DependencyKind

FUNCTION = "(function)"
STDLIB = "(stdlib)"
RUNTIME = "(runtime)"
UNRESOLVED = "(unresolved)"

KIND_THIRD_PARTY = DependencyKind.THIRD_PARTY
KIND_FUNCTION = DependencyKind.FUNCTION
KIND_STDLIB = DependencyKind.STDLIB
KIND_RUNTIME = DependencyKind.RUNTIME

# A zip entry costs a local header (30 bytes + name) and a central directory record (46 + name).
_ZIP_ENTRY_OVERHEAD = 76


@dataclass(frozen=True)
class InstalledDistribution:
    """One *.dist-info found in the task root, a layer, or the runtime dir."""

    name: str  # PEP 503-normalized
    version: str
    kind: DependencyKind
    site: Path  # the directory RECORD paths are relative to
    files: tuple[str, ...]  # normalized absolute paths (strings: packages have thousands)
    top_level: tuple[str, ...]
    record: Path


@dataclass(frozen=True)
class DependencyRef:
    name: str
    kind: DependencyKind
    version: str | None = None


@dataclass(frozen=True)
class Footprint:
    unzipped_bytes: int = 0
    zipped_bytes: int = 0
    files: int = 0


def read_metadata(dist_info: Path) -> tuple[str, str]:
    """(Name, Version) from a .dist-info's METADATA; from its folder name when unreadable."""
    name, version = dist_info.name.removesuffix(".dist-info"), ""
    try:
        with open(dist_info / "METADATA", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key == "Name":
                    name = value.strip()
                elif key == "Version":
                    version = value.strip()
    except OSError:
        if "-" in name:
            name, _, version = name.partition("-")
    return name, version


def scan_site(site: Path, kind: DependencyKind) -> list[InstalledDistribution]:
    """Every distribution installed in ``site``, with the files its RECORD lists."""
    found = []
    for dist_info in sorted(site.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if not record.is_file():
            continue
        name, version = read_metadata(dist_info)
        with open(record, encoding="utf-8", errors="replace", newline="") as handle:
            rows = [row[0] for row in csv.reader(handle) if row]
        # normpath, not resolve: the runtime dir is made of symlinks whose paths must stay put.
        base = str(site)
        listed = [os.path.normpath(os.path.join(base, row)) for row in rows]
        files = tuple(listed + _compiled_beside(listed))
        firsts = {row.split("/", 1)[0] for row in rows}
        tops = {
            first.split(".")[0]
            for first in firsts
            if not first.endswith((".dist-info", ".data")) and first not in ("..", "")
        }
        top_file = dist_info / "top_level.txt"
        if top_file.is_file():
            tops.update(t.strip() for t in top_file.read_text().splitlines() if t.strip())
        found.append(
            InstalledDistribution(
                normalize_name(name), version, kind, site, files, tuple(sorted(tops)), record
            )
        )
    return found


def _compiled_beside(files: Sequence[str]) -> list[str]:
    """The `__pycache__/*.pyc` of a distribution's `.py` files that its RECORD does not list.

    pip lists the bytecode it compiled; uv's `--compile-bytecode` (and a compileall run after
    the install) does not. Those files are the distribution's all the same: without this they
    would count as the function's own, with their megabytes.
    """
    listed = set(files)
    stems: dict[str, set[str]] = {}
    for file in files:
        if file.endswith(".py"):
            folder, name = os.path.split(file)
            stems.setdefault(folder, set()).add(name[:-3])
    found = []
    for folder, names in stems.items():
        cache = os.path.join(folder, "__pycache__")
        try:
            entries = os.listdir(cache)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".pyc") and entry.split(".", 1)[0] in names:
                path = os.path.join(cache, entry)
                if path not in listed:
                    found.append(path)
    return found


def _stdlib_dirs(given: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    dirs = set(given) or {Path(paths["stdlib"]), Path(paths["platstdlib"])}
    dirs |= {d / "lib-dynload" for d in list(dirs)}
    return tuple(sorted(dirs))


def _is_under(path: str | Path, root: str | Path) -> bool:
    path, root = str(path), str(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class ModuleLocation:
    """Where a module would be loaded from: its file, or the folders of a package's submodules."""

    origin: str | None  # None for a namespace package
    search_locations: tuple[str, ...] = ()  # a package's folders; empty for a plain module


class ModuleFinder:
    """Finds a module's file the way the path-based import system would, from the filesystem alone.

    importlib's PathFinder cannot be used for the function's modules: for a folder without
    ``__init__.py`` inside a regular package (flask/sansio) it builds a namespace path that looks
    the parent package up in *this* process's ``sys.modules``, and raises KeyError because
    coldprof never imported the function's packages (and must not). This mirrors FileFinder's
    order instead: in each folder, a package with an ``__init__`` wins, then a module file
    (extension, source, sourceless bytecode), then the folder as a namespace portion; a namespace
    package gathers its portions from every folder on the path. Extension modules are matched by
    any ABI tag, since the target interpreter may not be the one coldprof runs on.
    """

    def __init__(self) -> None:
        self._folders: dict[str, _Folder | None] = {}

    def _folder(self, path: str) -> _Folder | None:
        if path not in self._folders:
            self._folders[path] = _Folder.read(path)
        return self._folders[path]

    def _module_file(self, folder: str, stem: str) -> str | None:
        listing = self._folder(folder)
        name = listing.module_file(stem) if listing else None
        return os.path.join(folder, name) if name else None

    def find(self, name: str, path: Iterable[str]) -> ModuleLocation | None:
        """Where the module ``name`` (one component, no dots) is found along ``path``."""
        portions: list[str] = []
        for entry in path:
            folder = self._folder(entry)
            if folder is None:
                continue
            candidate = os.path.join(entry, name)
            is_package_dir = name in folder.folders
            if is_package_dir:
                init = self._module_file(candidate, "__init__")
                if init is not None:
                    return ModuleLocation(init, (candidate,))
            module = folder.module_file(name)
            if module is not None:
                return ModuleLocation(os.path.join(entry, module))
            if is_package_dir:
                portions.append(candidate)
        if portions:
            return ModuleLocation(None, tuple(portions))
        return None


@dataclass(frozen=True)
class _Folder:
    """One folder's entries, read once: its subfolders and its importable files by stem."""

    folders: frozenset[str]
    files: frozenset[str]
    extensions: dict[str, str]  # stem -> file name of an extension module (any ABI tag)

    @classmethod
    def read(cls, path: str) -> _Folder | None:
        folders: set[str] = set()
        files: set[str] = set()
        extensions: dict[str, str] = {}
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if is_dir:
                        folders.add(entry.name)
                        continue
                    files.add(entry.name)
                    if entry.name.endswith(".so"):
                        stem = entry.name.split(".", 1)[0]
                        extensions[stem] = min(extensions.get(stem, entry.name), entry.name)
        except OSError:
            return None
        return cls(frozenset(folders), frozenset(files), extensions)

    def module_file(self, stem: str) -> str | None:
        if stem in self.extensions:
            return self.extensions[stem]
        for suffix in (".py", ".pyc"):
            if stem + suffix in self.files:
                return stem + suffix
        return None


@dataclass
class Attribution:
    """Maps module names to dependencies the way Lambda's sys.path would load them."""

    task_root: Path
    layer_dirs: Sequence[Path]
    runtime_dir: Path
    distributions: list[InstalledDistribution] = field(default_factory=list)
    # The function's interpreter's standard library, when it is not coldprof's own.
    stdlib_dirs: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if not self.distributions:
            self.distributions = scan_site(self.task_root, KIND_THIRD_PARTY)
            for layer in self.layer_dirs:
                self.distributions += scan_site(layer, KIND_THIRD_PARTY)
            self.distributions += scan_site(self.runtime_dir, KIND_RUNTIME)
        self._by_file: dict[str, InstalledDistribution] = {}
        # Earlier sites win, as on sys.path: index them last so they overwrite.
        for dist in reversed(self.distributions):
            for file in dist.files:
                self._by_file[file] = dist
        self._by_top: dict[str, InstalledDistribution] = {}
        for dist in reversed(self.distributions):
            for top in dist.top_level:
                self._by_top[top] = dist
        self._stdlib = _stdlib_dirs(self.stdlib_dirs)
        # Lambda's sys.path order, with the interpreter's own standard library last.
        self._search_path = [
            str(self.task_root),
            *map(str, self.layer_dirs),
            str(self.runtime_dir),
            *map(str, self._stdlib),
        ]
        self._search_path = [os.path.normpath(p) for p in self._search_path]
        self._specs: dict[str, ModuleLocation | None] = {}
        self._finder = ModuleFinder()
        self._cache: dict[str, DependencyRef] = {}

    @property
    def by_name(self) -> dict[str, InstalledDistribution]:
        return {d.name: d for d in reversed(self.distributions)}

    def source_file(self, module: str) -> Path | None:
        """The .py file ``module`` would be loaded from, if it is loaded from source."""
        spec = self._spec(module)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            return Path(spec.origin)
        return None

    def module_file(self, module: str) -> Path | None:
        """The file ``module`` would be loaded from (a namespace portion's first file), if any."""
        spec = self._spec(module)
        return self._file_of(spec) if spec is not None else None

    def _spec(self, module: str) -> ModuleLocation | None:
        if module in self._specs:
            return self._specs[module]
        parent, _, tail = module.rpartition(".")
        spec: ModuleLocation | None = None
        if not parent:
            spec = self._finder.find(tail, self._search_path)
        else:
            parent_spec = self._spec(parent)
            if parent_spec is not None and parent_spec.search_locations:
                spec = self._finder.find(tail, parent_spec.search_locations)
        self._specs[module] = spec
        return spec

    def _file_of(self, spec: ModuleLocation) -> Path | None:
        if spec.origin is not None:
            return Path(spec.origin)
        for location in spec.search_locations:
            root = Path(location)
            for file in self._by_file:
                if _is_under(file, root):
                    return Path(file)
        locations = spec.search_locations
        return Path(locations[0]) / "__init__.py" if locations else None

    def _ref_for_file(self, file: Path) -> DependencyRef | None:
        dist = self._by_file.get(str(file))
        if dist is not None:
            return DependencyRef(dist.name, dist.kind, dist.version)
        if _is_under(file, self.task_root):
            return DependencyRef(FUNCTION, KIND_FUNCTION)
        layers = [str(layer) for layer in self.layer_dirs if _is_under(file, layer)]
        if layers:
            # A layer is installed, never the function's, even one copied in without a
            # dist-info: its top-level package names it (the deepest sys.path entry, as
            # python/lib/python3.X/site-packages sits inside python/).
            top = os.path.relpath(file, max(layers, key=len)).split(os.sep)[0]
            return DependencyRef(top.split(".")[0], KIND_THIRD_PARTY)
        if _is_under(file, self.runtime_dir):
            return DependencyRef(RUNTIME, KIND_RUNTIME)
        if any(_is_under(file, d) for d in self._stdlib):
            return DependencyRef(STDLIB, KIND_STDLIB)
        return None

    def dependency_of(self, module: str) -> DependencyRef:
        """The dependency owning ``module``: by its file's RECORD entry, then by top-level name."""
        if module in self._cache:
            return self._cache[module]
        ref = self._resolve(module)
        self._cache[module] = ref
        return ref

    def _resolve(self, module: str) -> DependencyRef:
        top = module.split(".")[0]
        if top in sys.builtin_module_names or module in sys.builtin_module_names:
            return DependencyRef(STDLIB, KIND_STDLIB)
        spec = self._spec(module)
        if spec is not None:
            file = self._file_of(spec)
            ref = self._ref_for_file(file) if file else None
            if ref is not None:
                return ref
        if spec is None and top in sys.stdlib_module_names and self._spec(top) is None:
            return DependencyRef(STDLIB, KIND_STDLIB)
        parent = module.rpartition(".")[0]
        if parent:  # dynamic submodules (six.moves.*) belong with their package
            return self.dependency_of(parent)
        dist = self._by_top.get(top)
        if dist is not None:
            return DependencyRef(dist.name, dist.kind, dist.version)
        if top in sys.stdlib_module_names:
            return DependencyRef(STDLIB, KIND_STDLIB)
        return DependencyRef(UNRESOLVED, KIND_THIRD_PARTY)

    def dependency_of_file(self, file: str | Path) -> DependencyRef | None:
        """The dependency that owns a file the child ran code from (a code object's co_filename).

        None for what no site holds: frozen modules, ``<string>``, relative or foreign paths.
        """
        text = os.fspath(file)
        if not os.path.isabs(text):
            return None
        return self._ref_for_file(Path(os.path.normpath(text)))

    @cached_property
    def task_root_files(self) -> list[str]:
        """Every file below the task root, walked once (a big package has thousands)."""
        return list(walk_file_paths(self.task_root))

    def function_files(self) -> list[str]:
        """Files in the task root that no distribution's RECORD claims: the function's own."""
        root = os.path.normpath(self.task_root)
        return [
            path
            for path in self.task_root_files
            if path not in self._by_file
            and not any(
                part.endswith(".dist-info")
                for part in os.path.relpath(os.path.dirname(path), root).split(os.sep)
            )
        ]


def walk_files(root: Path) -> Iterable[Path]:
    """Every file below ``root``."""
    return map(Path, walk_file_paths(root))


def walk_file_paths(root: Path) -> Iterable[str]:
    """Every file below ``root``, as normalized path strings (cheaper for big packages)."""
    for directory, _, files in os.walk(root):
        for name in files:
            yield os.path.normpath(os.path.join(directory, name))


class SizeCache:
    """Deflated sizes, remembered per file by (size, mtime) so a big package is compressed once.

    Each entry also keeps the day it was last used; saving drops those unused for KEEP_DAYS, so
    the file holds the packages in use rather than every file ever measured (reading it is part
    of every analyze).
    """

    KEEP_DAYS = 30

    def __init__(self, path: Path | None, today: int | None = None) -> None:
        self.path = path
        self.today = int(time.time() // 86400) if today is None else today
        self._data: dict[str, list[int]] = {}
        self._dirty = False
        if path is not None and path.is_file():
            try:
                self._data = _valid_entries(json.loads(path.read_text()))
            except (OSError, ValueError, RecursionError):
                self._data = {}  # a damaged cache is only slower: it is measured again

    def zipped_size(self, file: str | Path, stat: os.stat_result) -> int:
        key = str(file)
        cached = self._data.get(key)
        if (
            isinstance(cached, list)
            and len(cached) >= 3
            and cached[0] == stat.st_size
            and cached[1] == stat.st_mtime_ns
        ):
            if cached[3:] != [self.today]:
                self._data[key] = [*cached[:3], self.today]
                self._dirty = True
            return int(cached[2])
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        size = 0
        with open(file, "rb") as handle:
            while chunk := handle.read(1 << 20):
                size += len(compressor.compress(chunk))
        size += len(compressor.flush())
        # zip stores an entry uncompressed when deflate would not shrink it
        size = min(size, stat.st_size) + _ZIP_ENTRY_OVERHEAD + 2 * len(os.path.basename(key))
        self._data[key] = [stat.st_size, stat.st_mtime_ns, size, self.today]
        self._dirty = True
        return size

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        oldest = self.today - self.KEEP_DAYS
        kept = {
            key: entry
            for key, entry in self._data.items()
            if isinstance(entry, list) and len(entry) == 4 and entry[3] >= oldest
        }
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")  # two analyses may save at once
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir() and not self.path.is_symlink():
                shutil.rmtree(self.path)  # a damaged cache: the file is rebuilt in its place
            tmp.write_text(json.dumps(kept))
            tmp.replace(self.path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a cache that cannot be kept only costs time next run


def _valid_entries(data: object) -> dict[str, list[int]]:
    """The entries of a loaded size cache that have its shape; anything else is dropped."""
    if not isinstance(data, dict):
        return {}
    return {
        key: entry
        for key, entry in data.items()
        if isinstance(entry, list)
        and len(entry) in (3, 4)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in entry)
    }


def footprint(files: Iterable[str | Path], sizes: SizeCache) -> Footprint:
    unzipped = zipped = count = 0
    for file in files:
        try:
            stat = os.stat(file)
        except OSError:
            continue
        if not S_ISREG(stat.st_mode):
            continue
        unzipped += stat.st_size
        zipped += sizes.zipped_size(file, stat)
        count += 1
    return Footprint(unzipped, zipped, count)


def bytecode_fraction(
    root: Path, files: Iterable[str] | None = None, tag: str | None = None
) -> float:
    """Share of the package's .py files that ship a matching .pyc for the Python whose cache
    tag is ``tag`` ("cpython-312"; default: this one's).

    ``files``: every file below ``root`` as walk_file_paths gives them, when already walked.
    """
    tag = tag or sys.implementation.cache_tag
    present = set(walk_file_paths(root) if files is None else files)
    sources = compiled = 0
    for file in present:
        if not file.endswith(".py"):
            continue
        sources += 1
        directory, name = os.path.split(file)
        if os.path.join(directory, "__pycache__", f"{name[:-3]}.{tag}.pyc") in present:
            compiled += 1
    return compiled / sources if sources else 1.0
