"""Find a function's handler, build its package as `sam build` would, lay out the runtime dir."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.metadata as metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from coldprof.errors import BuildError, HandlerNotFoundError, UsageError

if TYPE_CHECKING:
    from coldprof.project import FunctionSpec

# Guessed in this order; a guess counts only if its module defines the name.
CONVENTIONAL_HANDLERS = (
    "lambda_function.lambda_handler",
    "lambda_function.handler",
    "app.lambda_handler",
    "app.handler",
    "handler.handler",
    "handler.lambda_handler",
    "main.handler",
    "main.lambda_handler",
)
# What the managed Python runtime provides beside the standard library.
RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3")
_SKIP_DIRS = {"__pycache__", ".aws-sam", "node_modules", ".git", ".venv", "venv", ".pytest_cache"}


def cache_root() -> Path:
    """Where builds and the runtime dir are cached: $COLDPROF_CACHE_DIR, else the XDG cache."""
    explicit = os.environ.get("COLDPROF_CACHE_DIR")
    if explicit:
        # Absolute: the runtime dir's path goes to children that run in another directory.
        return Path(explicit).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "coldprof"


# In every cache entry coldprof makes: pruning removes only what carries it, so a cache folder
# that also holds the user's own files (COLDPROF_CACHE_DIR=~/work) never loses one of them.
CACHE_MARKER = ".coldprof-entry"
_CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# coldprof's cache: safe to delete.\n"


def mark_cache_entry(entry: Path) -> None:
    """Mark ``entry`` (a folder) as coldprof's own, and tag the cache root for backup tools."""
    entry.mkdir(parents=True, exist_ok=True)
    (entry / CACHE_MARKER).touch()
    tag = entry.parent.parent / "CACHEDIR.TAG"  # <root>/<kind>/<entry>
    if not tag.exists():
        with contextlib.suppress(OSError):
            tag.write_text(_CACHEDIR_TAG)


def lock_path(entry: Path) -> Path:
    """The lock beside a cache entry: the entry's whole name plus .lock (names may hold dots)."""
    return entry.parent / f"{entry.name}.lock"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "function"


def writable_cache(cache: Path | None = None) -> tuple[Path, str | None]:
    """The cache to use, and a note when it had to be a temporary one.

    Checked by writing to it, not by its permission bits (root ignores them). A cache that
    cannot be written gives way to a temporary one, removed when coldprof exits, so the run
    still measures and reports; only what it built is not kept.
    """
    root = cache or cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-check-"):
            pass
    except OSError as e:
        import atexit

        fallback = Path(tempfile.mkdtemp(prefix="coldprof-cache-"))
        atexit.register(shutil.rmtree, fallback, ignore_errors=True)
        return fallback, (
            f"the cache {root} cannot be written ({e.strerror or e}): this run used a temporary "
            "cache, so its build will not be reused (set COLDPROF_CACHE_DIR to a writable folder)"
        )
    return root, None


def _flock(handle: IO[str], wait: bool) -> None:
    """An exclusive lock on an open file; OSError when ``wait`` is False and it is taken."""
    if sys.platform == "win32":
        import msvcrt

        mode = msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK  # type: ignore[attr-defined]
        msvcrt.locking(handle.fileno(), mode, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unflock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        _flock(handle, wait=True)
        try:
            yield
        finally:
            _unflock(handle)


# -- the function and its handler ---------------------------------------------------------------
@dataclass(frozen=True)
class FunctionSource:
    """A function directory as the user points at it, with its resolved handler."""

    path: Path
    handler: str
    handler_origin: str  # "--handler", the project file's name, or "convention"
    spec: FunctionSpec | None = None  # what the project declares for it

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0].replace("/", ".")

    @property
    def requirements(self) -> Path | None:
        if self.spec is not None and self.spec.requirements is not None:
            return self.spec.requirements
        candidate = self.path / "requirements.txt"
        return candidate if candidate.is_file() else None

    @property
    def vendored(self) -> bool:
        """True when the directory already holds installed distributions."""
        return any(self.path.glob("*.dist-info"))

    @property
    def needs_build(self) -> bool:
        return self.requirements is not None and not self.vendored


def module_exists(root: Path, module: str) -> bool:
    relative = Path(*module.replace("/", ".").split("."))
    return (
        (root / relative).with_suffix(".py").is_file()
        or (root / relative / "__init__.py").is_file()
        or _has_extension(root / relative)
    )


def _has_extension(stem: Path) -> bool:
    return stem.parent.is_dir() and any(stem.parent.glob(f"{stem.name}.*.so"))


def resolve_function(
    path: Path,
    handler: str | None = None,
    function: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> FunctionSource:
    """Find the function: --handler in the folder, else the project (template.yaml,
    serverless.yml, cdk.out) at or above it, else the conventional handler names."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    # Absolute, so module files resolve the same whatever the working directory.
    path = Path(os.path.abspath(path))
    if handler is None:
        from coldprof.project import find_project, select_functions

        project = find_project(path, parameters)
        if project is not None and (project.functions or project.skipped or function):
            chosen = select_functions(project, [function] if function else [])
            if len(chosen) > 1:
                raise HandlerNotFoundError(
                    f"{project.template} declares several functions ({', '.join(project.ids())})",
                    hint="pick one with --function ID",
                )
            return _from_spec(chosen[0])
        if function:
            raise UsageError(f"--function {function}: no template, serverless.yml or cdk.out here")
    elif function:
        raise UsageError("--handler and --function are alternatives: give one")
    guesses: tuple[str, ...] = ()
    if path.is_file():
        if path.suffix != ".py":
            raise UsageError(f"{path}: not a function directory, a project file or a Python file")
        guesses = (f"{path.stem}.lambda_handler", f"{path.stem}.handler")
        path = path.parent
    if not any(_python_files(path)):
        raise UsageError(f"{path}: holds no Python files")
    if handler:
        if "." not in handler:
            raise UsageError(f"--handler {handler!r} is not of the form module.function")
        module = handler.rsplit(".", 1)[0]
        if not module_exists(path, module):
            raise HandlerNotFoundError(
                f"handler module {module!r} not found in {path}",
                hint=f"modules there: {', '.join(_top_modules(path)) or 'none'}",
            )
        return FunctionSource(path, handler, "--handler")
    if guesses:  # a file was given: only its own module is guessed at
        return _guess_handler(path, guesses, "")
    return _guess_handler(path, CONVENTIONAL_HANDLERS, "template.yaml, serverless.yml, cdk.out, ")


def _from_spec(spec: FunctionSpec) -> FunctionSource:
    code_dir = unpacked_asset(spec.code_dir)
    module, name = spec.handler.rsplit(".", 1)
    if not module_exists(code_dir, module):
        raise HandlerNotFoundError(
            f"{spec.logical_id}: handler module {module!r} not found in {code_dir}",
            hint=f"modules there: {', '.join(_top_modules(code_dir)) or 'none'}",
        )
    if module_defines(code_dir, module, name) is False:
        functions = ", ".join(_functions_of(code_dir, module)[:8])
        raise HandlerNotFoundError(
            f"{spec.logical_id}: {_module_label(code_dir, module)} defines no {name} "
            f"(the template's Handler is {spec.handler})",
            hint=f"functions defined there: {functions}" if functions else None,
        )
    return FunctionSource(code_dir, spec.handler, spec.template.name, spec=spec)


def unpacked_asset(path: Path, cache: Path | None = None) -> Path:
    """A folder as is; a zipped asset (cdk.out keeps some so) checked and unpacked into the
    cache, keyed by its content, once."""
    if path.is_dir():
        return path
    from coldprof.build.archive import extract_archive

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    destination = (cache or cache_root()) / "assets" / f"{path.stem[:40]}-{digest}"
    with _locked(destination.parent / f"{destination.name}.lock"):
        if not destination.is_dir():
            staging = Path(tempfile.mkdtemp(prefix="asset-", dir=destination.parent))
            extract_archive(data, staging / "code", read_only=False)
            (staging / "code").rename(destination)
            shutil.rmtree(staging, ignore_errors=True)
    return destination


def _guess_handler(path: Path, guesses: Sequence[str], tried_first: str) -> FunctionSource:
    """The first guess whose module defines it, checked before anything is built; else an
    error listing every guess and why it did not fit."""
    missing: dict[str, None] = {}  # modules, in the order guessed
    lacking: dict[str, list[str]] = {}  # module → the names it does not define
    for candidate in guesses:
        module, name = candidate.rsplit(".", 1)
        if not module_exists(path, module):
            missing[module] = None
        elif module_defines(path, module, name) is False:
            lacking.setdefault(module, []).append(name)
        else:
            return FunctionSource(path, candidate, "convention")
    tried = [f"{_module_label(path, m)} defines no {_or(names)}" for m, names in lacking.items()]
    if missing:
        tried.append("no " + _or([f"{m}.py" for m in missing]))
    functions = sorted({f for module in lacking for f in _functions_of(path, module)})
    shown = ", ".join(functions[:8]) + (", ..." if len(functions) > 8 else "")
    raise HandlerNotFoundError(
        f"no handler found in {path}; tried {tried_first}{', '.join(guesses)}: " + "; ".join(tried),
        hint="pass --handler module.function"
        + (f" (functions defined there: {shown})" if functions else ""),
    )


def _or(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _module_label(root: Path, module: str) -> str:
    file = _module_file(root, module)
    return str(file.relative_to(root)) if file is not None else module


def _module_file(root: Path, module: str) -> Path | None:
    relative = Path(*module.replace("/", ".").split("."))
    for candidate in ((root / relative).with_suffix(".py"), root / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_tree(root: Path, module: str) -> ast.Module | None:
    file = _module_file(root, module)
    if file is None:
        return None  # an extension module, or none at all
    try:
        return ast.parse(file.read_bytes(), filename=str(file))
    except (OSError, SyntaxError, ValueError):
        return None  # Lambda would fail to import it too: that is the function's error to show


def _top_level_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import, including those under if/try/with/for at module level."""
    for statement in body:
        yield statement
        for block in ("body", "orelse", "finalbody"):
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from _top_level_statements(getattr(statement, block, []))
        for handler in getattr(statement, "handlers", []):
            yield from _top_level_statements(handler.body)


def _bound_names(statement: ast.stmt) -> Iterator[str | None]:
    """Names a statement binds in its module; None for a binding that cannot be read (a star
    import), which could bind anything."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield statement.name
    elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    yield node.id
    elif isinstance(statement, ast.Import | ast.ImportFrom):
        for alias in statement.names:
            if alias.name == "*":
                yield None
            else:
                yield alias.asname or alias.name.split(".")[0]


def module_defines(root: Path, module: str, name: str) -> bool | None:
    """Whether ``module`` (under ``root``) defines ``name`` at module level, read from its
    source without running it. None when that cannot be told (no source, a syntax error, a
    star import, a module __getattr__)."""
    tree = _module_tree(root, module)
    if tree is None:
        return None
    bound = {n for s in _top_level_statements(tree.body) for n in _bound_names(s)}
    if name in bound:
        return True
    if None in bound or "__getattr__" in bound:
        return None
    return False


def _functions_of(root: Path, module: str) -> list[str]:
    """``module.function`` for each function its source defines at module level."""
    tree = _module_tree(root, module)
    if tree is None:
        return []
    return [
        f"{module}.{s.name}"
        for s in tree.body
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and not s.name.startswith("_")
    ]


def _python_files(path: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in files:
            if name.endswith(".py"):
                yield Path(root) / name


def _top_modules(path: Path) -> list[str]:
    return sorted(
        p.stem if p.is_file() else p.name
        for p in path.iterdir()
        if (p.suffix == ".py" and p.is_file()) or (p / "__init__.py").is_file()
    )


# -- building -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildTarget:
    """The platform dependencies are installed for; None for this machine's own."""

    platform: str | None = None  # e.g. "manylinux2014_x86_64"
    python_version: str = f"{sys.version_info[0]}.{sys.version_info[1]}"
    # Builds what has no wheel for the platform from source (that interpreter's pip); "" is
    # coldprof's own interpreter.
    python: str = ""
    installer: str = "auto"  # auto, pip or uv (installer.choose): uv only where it matches pip

    @property
    def key(self) -> str:
        return f"py{self.python_version}-{self.platform or 'local'}"

    @property
    def compiled_by_target(self) -> bool:
        """Whether the package's bytecode is written by the target's own interpreter: pip
        compiles with the Python that runs it, whose .pyc files another Python never loads."""
        own = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return bool(self.python) and self.python_version != own


def function_files(path: Path) -> Iterator[Path]:
    """The function's own files, relative to its directory (what a build lays over pip's)."""
    # Links are followed, as zip -r follows them: function_tree refused loops and, unless asked,
    # links that leave the folder.
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = [
            d for d in dirs if d not in _SKIP_DIRS and not (Path(root) / d / "pyvenv.cfg").exists()
        ]
        for name in files:
            yield Path(root, name).relative_to(path)


def build_package(
    source: FunctionSource,
    target: BuildTarget | None = None,
    cache: Path | None = None,
    log: list[str] | None = None,
    variant: str = "",
    notes: list[str] | None = None,
    pins: Sequence[str] = (),
) -> Path:
    """pip install -r requirements.txt --target a cache, then lay the function's code over it.

    The cache is keyed by the requirements' hash, the target and ``pins`` (name==version
    constraints, e.g. the versions another platform's build resolved), so only a change there
    re-runs pip. ``variant`` stands for the folder's path in the key: audit --base unpacks the
    base into a new temporary folder each time, and keys its build by the head's path and
    "@base", so the build is reused and never shared with the head's.
    Returns the task root.
    """
    target = target or BuildTarget()
    requirements = source.requirements
    assert requirements is not None
    # Keyed by the folder's resolved path too: two functions in folders of the same name (a/fn,
    # b/fn) must never share a build, or each would measure the other's code.
    identity = variant or str(source.path.resolve())
    from coldprof.build.installer import choose

    chosen = choose(target.installer).installer.value  # a pip build and a uv one are apart
    key = f"{identity}\0{target.key}\0{chosen}\0".encode() + requirements.read_bytes()
    key += "\n".join(pins).encode()
    if target.compiled_by_target:
        key += b"\0bytecode by the target's Python"
    digest = hashlib.sha256(key).hexdigest()[:16]
    base = (cache or cache_root()) / "builds" / f"{_safe_name(source.path.name)}-{digest}"
    root = base / "package"
    manifest = base / "function-files.txt"
    with _locked(lock_path(base)):
        if not (base / "deps-complete").is_file() or not root.is_dir():
            constraints: list[str] = []  # a damaged build is redone
            if pins:
                base.mkdir(parents=True, exist_ok=True)
                (base / "constraints.txt").write_text("\n".join(pins) + "\n")
                constraints = ["-c", str(base / "constraints.txt")]
            _pip_install(requirements, base, target, log, constraints)
        mark_cache_entry(base)
        if not manifest.is_file():
            remove_path(manifest)
        wanted = [str(relative) for relative in function_files(source.path)]
        previous = manifest.read_text().splitlines() if manifest.exists() else []
        for line in set(previous) - set(wanted):
            with contextlib.suppress(FileNotFoundError):
                (root / line).unlink()
        for relative in wanted:
            _update_file(source.path / relative, root / relative)
        manifest.write_text("\n".join(wanted))
        warnings = base / BUILD_WARNINGS
        if notes is not None and warnings.is_file():
            notes.extend(line for line in warnings.read_text().splitlines() if line)
    return root


def _update_file(source: Path, destination: Path) -> None:
    """Copy ``source`` over ``destination`` unless it is already there, by an atomic rename.

    Another analysis of the same function may be running from this build: it must never see a
    file missing or half written.
    """
    stat = source.stat()
    with contextlib.suppress(OSError):
        there = destination.stat()
        if (there.st_size, there.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    shutil.copy2(source, staging)
    os.replace(staging, destination)


BUILD_WARNINGS = "build-warnings.txt"
_PIP_TARGET_FLAGS = ("--disable-pip-version-check", "--no-input", "--quiet")


def _requirement_lines(requirements: Path) -> list[str]:
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def _requirement_options(requirements: Path) -> list[str]:
    """The pip options a requirements file sets (--find-links, --index-url...), as arguments."""
    import shlex

    options = []
    for raw in requirements.read_text().splitlines():
        line = raw.strip()
        if line.startswith("-") and not line.startswith(
            ("-r", "-c", "--requirement", "--constraint")
        ):
            options.extend(shlex.split(line, comments=True))
    return options


def _has_wheel(
    requirement: str, target: BuildTarget, requirements: Path, pip: Sequence[str]
) -> bool:
    """Whether pip finds a wheel for the requirement itself on the target platform."""
    assert target.platform is not None
    with tempfile.TemporaryDirectory(prefix="coldprof-wheel-") as scratch:
        cmd = [*pip, "download", *_PIP_TARGET_FLAGS, "--no-deps"]
        cmd += [
            "-d",
            scratch,
            *_platform_flags(target),
            *_requirement_options(requirements),
            requirement,
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=300, cwd=requirements.parent
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0


def _platform_flags(target: BuildTarget) -> list[str]:
    assert target.platform is not None
    return [
        "--platform",
        target.platform,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
    ]


def _merge_into(source: Path, destination: Path) -> None:
    """Move what ``source`` holds into ``destination``, keeping what is there already."""
    for entry in source.iterdir():
        if not (destination / entry.name).exists():
            shutil.move(str(entry), destination / entry.name)


def _pip_install(
    requirements: Path,
    base: Path,
    target: BuildTarget,
    log: list[str] | None,
    constraints: Sequence[str] = (),
) -> None:
    from coldprof.build.installer import find_installer

    installer = find_installer()
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=base.parent))
    cmd = installer.install(staging, requirements, target.platform, target.python_version)
    cmd += constraints
    fallback = None
    if not installer.is_uv:  # with no pip at all, `uv pip` is the build and nothing compares
        fallback = _uv_install(requirements, base, staging, target, log, constraints, cmd)
        if fallback is None:
            return  # uv built the very package pip would have
    if target.compiled_by_target and not installer.is_uv:  # uv compiles nothing unless asked
        cmd.append("--no-compile")
    report = staging.parent / f"{staging.name}-report.json"
    if target.platform and not installer.is_uv:
        cmd += ["--report", str(report)]
    done = _run_pip(cmd, requirements, staging, log, installer.name)
    warnings: list[str] = [fallback] if fallback else []
    if done.returncode == 0 and target.platform and not installer.is_uv:
        # pip builds a local folder or a direct URL whatever --only-binary says: say which.
        warnings += [_source_warning(name, target) for name in _built_from_source(report)]
    report.unlink(missing_ok=True)
    if done.returncode != 0 and target.platform and not installer.is_uv:
        # Lambda's platform tags take wheels only: build what has none from source, alone.
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        lines = _requirement_lines(requirements)
        pip = list(installer.command)
        no_wheel = [r for r in lines if not _has_wheel(r, target, requirements, pip)]
        if no_wheel:
            done = _install_split(
                lines, no_wheel, requirements, staging, target, log, constraints, pip
            )
            warnings += [_source_warning(r, target) for r in no_wheel]
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        headline, explanation = pip_failure(done.stdout, done.stderr)
        raise BuildError(
            f"{installer.name} install -r {requirements} failed: {headline}",
            hint="fix requirements.txt, or vendor the dependencies and pass --no-build",
            details="\n".join(["---- pip's explanation ----", *explanation, "-" * 27])
            if explanation
            else "",
        )
    if target.compiled_by_target:
        _compile_with(target.python, staging)
    _keep_build(base, staging, "uv" if installer.is_uv else "pip", warnings, cmd)


def _keep_build(
    base: Path, staging: Path, installer: str, warnings: Sequence[str], cmd: Sequence[str]
) -> None:
    """Make ``staging`` the build's package, with what built it and what to say about it."""
    package = base / "package"
    if not base.is_dir():
        remove_path(base)
    remove_path(package)
    base.mkdir(parents=True, exist_ok=True)
    staging.rename(package)
    (base / BUILD_WARNINGS).write_text("\n".join(warnings))
    (base / INSTALLER_FILE).write_text(installer)
    (base / "deps-complete").write_text(" ".join(cmd))


INSTALLER_FILE = "installer"  # in a build: which installer made it, "pip" or "uv"


def build_installer(task_root: Path) -> str | None:
    """Which installer built the package at ``task_root``; None for a folder as it is."""
    try:
        return (task_root.parent / INSTALLER_FILE).read_text().strip() or None
    except OSError:
        return None


def _uv_install(
    requirements: Path,
    base: Path,
    staging: Path,
    target: BuildTarget,
    log: list[str] | None,
    constraints: Sequence[str],
    pip_cmd: Sequence[str],
) -> str | None:
    """Build with uv when it is chosen and yields what pip would; None when it did.

    Otherwise returns why pip builds instead ("" when uv was not chosen). pip's resolution of
    the same command (a dry run, remembered per command) runs beside uv's install.
    """
    import concurrent.futures

    from coldprof.build.installer import (
        Preference,
        choose,
        differences,
        installed_distributions,
        pip_resolution,
        uv_install_command,
    )

    choice = choose(target.installer)
    if choice.installer is not Preference.uv or choice.uv is None:
        return ""
    # uv compiles with the interpreter it installs for, so its .pyc match the target's Python.
    cmd = uv_install_command(
        choice.uv,
        target.python or sys.executable,
        staging,
        requirements,
        target.platform,
        target.python_version,
        constraints,
    )
    start = list(pip_cmd).index("-r")
    key = hashlib.sha256(
        "\0".join([*pip_cmd[start:], requirements.read_text()]).encode()
    ).hexdigest()[:16]
    resolution_file = base.parent.parent / "resolutions" / f"{key}.json"
    # The dry run installs nothing: its --target only has to be a folder that is not staging.
    dry = [a for a in pip_cmd if a != "--no-compile"]
    dry[dry.index("--target") + 1] = str(staging.parent / f"{staging.name}-dry")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        resolved = pool.submit(pip_resolution, dry, requirements.parent, resolution_file)
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=900, cwd=requirements.parent
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            done = subprocess.CompletedProcess(cmd, 1, "", str(e))
        pip_would = resolved.result()
    if log is not None:
        log.append(done.stdout + done.stderr)
    why = None
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["?"]
        why = f"uv could not build it ({last[0].strip()})"
    elif pip_would is None:
        why = "pip's resolution, to compare uv's build with, could not be had"
    else:
        differ = differences(pip_would, installed_distributions(staging))
        if differ:
            more = f" and {len(differ) - 4} more" if len(differ) > 4 else ""
            why = f"uv's build differs from pip's ({', '.join(differ[:4])}{more})"
    if why is not None:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        return f"built with pip: {why}"
    _keep_build(base, staging, "uv", [], cmd)
    return None


def _compile_with(python: str, folder: Path) -> None:
    """Write the .pyc files ``python`` loads for every .py under ``folder``, as pip would have
    had that Python run it. A file that does not compile stays without (as with pip)."""
    cmd = [python, "-I", "-m", "compileall", "-q", "-j", "0", str(folder)]
    try:
        subprocess.run(cmd, capture_output=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise BuildError(f"compiling the package with {python} could not run: {e}") from e


PIP_EXPLANATION_LINES = 20


def pip_failure(stdout: str, stderr: str) -> tuple[str, list[str]]:
    """A failed pip install as (its one-line error, the lines that explain it).

    The explanation is pip's "The conflict is caused by:" block (pip prints it on stdout) or,
    for any other failure, the end of its stderr; at most PIP_EXPLANATION_LINES either way.
    """
    errors = [
        line.removeprefix("ERROR: ").strip()
        for line in stderr.splitlines()
        if line.startswith("ERROR: ") and not line.startswith("ERROR: ResolutionImpossible")
    ]
    lines = stdout.splitlines() + stderr.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("The conflict is caused")), -1
    )
    if start >= 0:
        end = next(
            (i for i in range(start, len(lines)) if lines[i].startswith("To fix this")), len(lines)
        )
        block = lines[start:end]
    else:
        block = [
            line
            for line in stderr.splitlines()
            if line.strip()
            and not line.startswith("WARNING: ")
            and line.removeprefix("ERROR: ").strip() not in errors[-1:]
        ]
        block = block[-PIP_EXPLANATION_LINES:]
    while block and not block[-1].strip():
        block.pop()
    if len(block) > PIP_EXPLANATION_LINES:
        cut = len(block) - PIP_EXPLANATION_LINES
        block = [*block[:PIP_EXPLANATION_LINES], f"... ({cut} more lines)"]
    tail = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["?"]
    return (errors[-1] if errors else tail[0].strip()), block


def _source_warning(requirement: str, target: BuildTarget) -> str:
    return (
        f"{requirement}: no wheel for {target.platform} and Python {target.python_version}; "
        f"built from source on this machine ({platform.machine()})"
    )


def _built_from_source(report: Path) -> list[str]:
    """The distributions a `pip install --report` installed from something not a wheel."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return []
    names = []
    for item in data.get("install", []):
        url = str((item.get("download_info") or {}).get("url", ""))
        if not url.endswith(".whl"):
            names.append(str((item.get("metadata") or {}).get("name", url)))
    return names


def _run_pip(
    cmd: list[str],
    requirements: Path,
    staging: Path,
    log: list[str] | None,
    name: str = "pip",
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=900, cwd=requirements.parent
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"{name} install -r {requirements} could not run: {e}") from e
    if log is not None:
        log.append(done.stdout + done.stderr)
    return done


def _install_split(
    lines: Sequence[str],
    no_wheel: Sequence[str],
    requirements: Path,
    staging: Path,
    target: BuildTarget,
    log: list[str] | None,
    constraints: Sequence[str] = (),
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
) -> subprocess.CompletedProcess[str]:
    """The requirements with wheels as Lambda's platform takes them, then the rest from source
    with the function's interpreter, merged into ``staging``."""
    wheels = [r for r in lines if r not in no_wheel]
    done: subprocess.CompletedProcess[str] | None = None
    if wheels:
        cmd = [*pip, "install", *_PIP_TARGET_FLAGS, "--target"]
        cmd += [str(staging), *_platform_flags(target), *constraints]
        cmd += ["--no-compile"] if target.compiled_by_target else []
        cmd += [*_requirement_options(requirements), *wheels]
        done = _run_pip(cmd, requirements, staging, log)
        if done.returncode != 0:
            return done
    built = Path(tempfile.mkdtemp(prefix="source-", dir=staging.parent))
    try:
        cmd = [target.python or sys.executable, "-m", "pip", "install", *_PIP_TARGET_FLAGS]
        cmd += ["--target", str(built), *constraints, *_requirement_options(requirements)]
        cmd += ["--no-compile"] if target.compiled_by_target else []
        cmd += no_wheel
        done = _run_pip(cmd, requirements, staging, log)
        if done.returncode == 0:
            _merge_into(built, staging)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return done


def task_root_for(
    source: FunctionSource,
    build: bool = True,
    cache: Path | None = None,
    target: BuildTarget | None = None,
    variant: str = "",
    notes: list[str] | None = None,
    pins: Sequence[str] = (),
) -> Path:
    """The directory Lambda would see as /var/task for this function."""
    if build and source.needs_build:
        return build_package(
            source, target=target, cache=cache, variant=variant, notes=notes, pins=pins
        )
    return source.path


def resolved_versions(task_root: Path) -> list[str]:
    """name==version for every distribution a built package holds (its .dist-info folders)."""
    pins = []
    for info in sorted(task_root.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        if name and version:
            pins.append(f"{name}=={version}")
    return pins


# -- the runtime's own directory -------------------------------------------------------------
def _requirement_names(requires: Sequence[str]) -> list[str]:
    names = []
    for requirement in requires:
        name_part, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", name_part)
        if match:
            names.append(match.group(1))
    return names


def runtime_distributions() -> list[metadata.Distribution]:
    """The managed runtime's packages and their dependencies, as installed beside coldprof."""
    return [dist for dist, _, _ in _runtime_metadata()]


def _runtime_metadata() -> list[tuple[metadata.Distribution, str, str]]:
    """Each runtime distribution with its name and version. Each METADATA file is parsed once:
    parsing is most of what this costs, and every analyze pays it."""
    seen: dict[str, tuple[metadata.Distribution, str, str]] = {}
    pending = list(RUNTIME_DISTRIBUTIONS)
    while pending:
        name = pending.pop()
        key = normalize_name(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another Python version or platform
        info = dist.metadata
        seen[key] = (dist, info["Name"], info["Version"])
        pending.extend(_requirement_names(info.get_all("Requires-Dist") or []))
    return [seen[k] for k in sorted(seen)]


def normalize_name(name: str) -> str:
    """PEP 503: lowercase, runs of -_. become one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_dir(cache: Path | None = None) -> Path:
    """A directory holding only what the managed runtime provides, assembled from RECORD files.

    Each top-level entry is a symlink into the installed site-packages; Python does not resolve
    them, so module files keep paths under this directory and attribute as the runtime's.
    """
    found = _runtime_metadata()
    installed = {normalize_name(name) for _, name, _ in found}
    from coldprof.runner.environment import AWSLAMBDARIC, default_runtime_client

    # Without awslambdaric (it installs on Linux only) coldprof's stand-in runs the function.
    client = default_runtime_client()
    needed = [n for n in RUNTIME_DISTRIBUTIONS if n != AWSLAMBDARIC or client == AWSLAMBDARIC]
    missing = [n for n in needed if normalize_name(n) not in installed]
    if missing:
        raise BuildError(
            f"the runtime packages {', '.join(missing)} are not installed beside coldprof"
        )
    fingerprint = ";".join(f"{name}=={version}" for _, name, version in found)
    fingerprint += f";{sys.executable};{sys.version}"
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    destination = (cache or cache_root()) / "runtime" / digest
    if _runtime_dir_complete(destination):
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    with _locked(lock_path(destination)):
        if _runtime_dir_complete(destination):
            return destination  # another process built it meanwhile
        # Missing, or damaged (emptied, an entry gone): a partial one would make every function
        # fail at init with "No module named awslambdaric", so it is built again.
        remove_path(destination)
        staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=destination.parent))
        entries = []
        for dist, _, _ in found:
            for top in _top_level_entries(dist):
                link = staging / top
                if link.exists() or link.is_symlink():
                    continue
                link.symlink_to(Path(str(dist.locate_file(top))))
                entries.append(top)
        (staging / _RUNTIME_ENTRIES).write_text("\n".join(entries) + "\n")
        try:
            staging.rename(destination)
        except OSError:  # an older coldprof, which takes no lock, finished first
            shutil.rmtree(staging, ignore_errors=True)
    return destination


# In each runtime dir, written last: the entries it must hold. Not a module name, so the
# function cannot import it.
_RUNTIME_ENTRIES = ".coldprof-entries"


def _runtime_dir_complete(directory: Path) -> bool:
    """Whether a cached runtime dir holds every entry it was built with, each still resolving."""
    try:
        listed = (directory / _RUNTIME_ENTRIES).read_text().split()
    except OSError:
        return False
    return bool(listed) and all(os.path.exists(directory / name) for name in listed)


def remove_path(path: Path) -> None:
    """Remove whatever is at ``path`` (a directory, a file, a link); nothing there is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _top_level_entries(dist: metadata.Distribution) -> list[str]:
    tops: set[str] = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0] in ("..", "bin") or parts[0].endswith(".data"):
            continue
        if parts[0] == "__pycache__":
            continue
        if Path(str(dist.locate_file(parts[0]))).exists():
            tops.add(parts[0])
    return sorted(tops)


# -- keeping the cache bounded -------------------------------------------------------------------
CACHE_KEEP_DAYS = 30
PYCACHE_SOURCE = "task-root.txt"  # in each pycache/<key>/: the task root it was compiled for
_PRUNED_STAMP = "last-pruned"


def prune_cache(cache: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove, at most once a day, builds unused for CACHE_KEEP_DAYS and bytecode compiled for
    task roots that are gone or unused as long. Returns what it removed.

    A build is in use while its lock is held, and each use rewrites its file list, so a build is
    only removed under its lock and when that list is old. Bytecode is rebuilt when missing.
    """
    root = cache or cache_root()
    now = time.time() if now is None else now
    stamp = root / _PRUNED_STAMP
    with contextlib.suppress(OSError):
        if now - stamp.stat().st_mtime < 86400:
            return []
    try:
        stamp.touch()
        os.utime(stamp, (now, now))
        return _prune(root, now - CACHE_KEEP_DAYS * 86400)
    except OSError:
        return []  # a cache coldprof cannot tidy is still a cache: never fail a run over it


def _prune(root: Path, oldest: float) -> list[Path]:
    removed: list[Path] = []
    builds = root / "builds"
    for base in sorted(builds.iterdir()) if builds.is_dir() else []:
        if not base.is_dir() or not (base / CACHE_MARKER).is_file():
            continue
        if _last_used(base / "function-files.txt", base) >= oldest:
            continue
        with _try_locked(lock_path(base)) as locked:
            if locked and _last_used(base / "function-files.txt", base) < oldest:
                shutil.rmtree(base, ignore_errors=True)
                removed.append(base)
    pycache = root / "pycache"
    for compiled in sorted(pycache.iterdir()) if pycache.is_dir() else []:
        if not compiled.is_dir() or not (compiled / CACHE_MARKER).is_file():
            continue
        try:
            task_root = Path((compiled / PYCACHE_SOURCE).read_text().strip())
        except OSError:
            task_root = None  # compiled before the task root was recorded: age decides
        gone = task_root is not None and not task_root.is_dir()
        if gone or _last_used(compiled / PYCACHE_SOURCE, compiled) < oldest:
            shutil.rmtree(compiled, ignore_errors=True)
            removed.append(compiled)
    return removed


def _last_used(path: Path, fallback: Path) -> float:
    for candidate in (path, fallback):
        with contextlib.suppress(OSError):
            return candidate.stat().st_mtime
    return 0.0


@contextlib.contextmanager
def _try_locked(lock_path: Path) -> Iterator[bool]:
    """Like _locked, without waiting: yields whether the lock was taken."""
    try:
        handle = open(lock_path, "w")
    except OSError:
        yield False
        return
    with handle:
        try:
            _flock(handle, wait=False)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            _unflock(handle)
