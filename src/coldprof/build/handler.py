"""Find a function's folder and handler: given, from a project's spec, or guessed."""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coldprof.build.cache import cache_root, locked
from coldprof.build.function_tree import SKIP_DIRS
from coldprof.errors import HandlerNotFoundError, UsageError

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
    with locked(destination.parent / f"{destination.name}.lock"):
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
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            if name.endswith(".py"):
                yield Path(root) / name


def _top_modules(path: Path) -> list[str]:
    return sorted(
        p.stem if p.is_file() else p.name
        for p in path.iterdir()
        if (p.suffix == ".py" and p.is_file()) or (p / "__init__.py").is_file()
    )
