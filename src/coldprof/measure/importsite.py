"""Where the function's own code imports a dependency: a file and line for CI annotations."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from coldprof.measure.distributions import FUNCTION
from coldprof.results.analyze import AnalyzeResult, ImportTreeNode

if TYPE_CHECKING:
    from coldprof.results.audit import Finding


def _edges(
    nodes: Sequence[ImportTreeNode], parent: ImportTreeNode | None = None
) -> Iterator[tuple[ImportTreeNode | None, ImportTreeNode]]:
    for node in nodes:
        yield parent, node
        yield from _edges(node.children, node)


def _module_file(task_root: Path, module: str) -> Path | None:
    base = task_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _import_line(source: str, module: str) -> int | None:
    """The first line of a statement that imports ``module`` (or a package above it)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    top = module.split(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == module or name.split(".")[0] == top for name in names):
            return node.lineno
    return None


def locate(
    imports: Sequence[ImportTreeNode], dependency: str, task_root: Path
) -> tuple[Path, int] | None:
    """The function's file and line that first import ``dependency``, if the tree shows one.

    The import tree says which of the function's modules imported the dependency's first
    module; that module's source says on which line. None when the dependency came in through
    another dependency, or the file cannot be read.
    """
    for parent, node in _edges(imports):
        if node.dependency != dependency or parent is None or parent.dependency != FUNCTION:
            continue
        path = _module_file(task_root, parent.module)
        if path is None:
            continue
        try:
            line = _import_line(path.read_text(encoding="utf-8"), node.module)
        except (OSError, UnicodeDecodeError):
            continue
        if line is not None:
            return path, line
    return None


def with_locations(findings: Sequence[Finding], result: AnalyzeResult) -> tuple[Finding, ...]:
    """Each finding that names a dependency, with where the function imports it."""
    from dataclasses import replace

    if not result.task_root:
        return tuple(findings)
    task_root = Path(result.task_root).expanduser()  # recorded with ~ for the home folder
    names = {d.name for d in result.dependencies}
    located = []
    for finding in findings:
        known = finding.subject in names and finding.file is None
        where = locate(result.imports, finding.subject, task_root) if known else None
        if where is not None:
            path, line = where
            finding = replace(finding, file=path.relative_to(task_root).as_posix(), line=line)
        located.append(finding)
    return tuple(located)
