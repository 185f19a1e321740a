"""What a module imports at import time: each statement, the names it binds, its block."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

_TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"}
_TRY_STATEMENTS = (ast.Try, getattr(ast, "TryStar", ast.Try))  # try/except* is 3.11+


@dataclass(frozen=True)
class ImportBinding:
    """One name a module-level import statement binds, and what it imports."""

    name: str  # the name bound in the module: ``np`` for ``import numpy as np``
    module: str  # the module imported, made absolute: ``numpy``, ``requests.adapters``
    # Modules that may own this name, most specific first: for ``from a import b`` that is
    # ``a.b`` (a submodule) then ``a``.
    candidates: tuple[str, ...]
    text: str  # a statement importing just this name: ``import numpy as np``


@dataclass(frozen=True)
class ImportStatement:
    """An import statement that runs when the module is imported."""

    line: int
    end_line: int
    source: str  # as written, on one line
    bindings: tuple[ImportBinding, ...]
    block: str | None = None  # None for a direct child of the module; else "try", "if", ...
    alone_on_its_lines: bool = True  # no other statement shares its lines (``;``)


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    package = importer if is_package else importer.rpartition(".")[0]
    try:
        return importlib.util.resolve_name("." * level + (module or ""), package)
    except (ImportError, ValueError):
        return module or ""


def _bindings(
    node: ast.Import | ast.ImportFrom, importer: str, is_package: bool
) -> list[ImportBinding]:
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            text = ast.unparse(ast.Import(names=[alias]))
            found.append(ImportBinding(bound, alias.name, (alias.name,), text))
        return found
    base = _absolute(node.module, node.level, importer, is_package)
    for alias in node.names:
        text = ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=node.level))
        candidates = (f"{base}.{alias.name}", base) if base else (alias.name,)
        found.append(ImportBinding(alias.asname or alias.name, base, candidates, text))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    try:
        return ast.unparse(test) in _TYPE_CHECKING
    except (ValueError, TypeError):
        return False


def _alone(node: ast.stmt, lines: list[str]) -> bool:
    end_line = node.end_lineno or node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else len(lines[end_line - 1])
    before = lines[node.lineno - 1][: node.col_offset]
    after = lines[end_line - 1][end_col:].strip()
    return not before.strip() and (not after or after.startswith("#"))


def module_imports(source: str, module: str, is_package: bool = False) -> list[ImportStatement]:
    """Every import statement that runs when ``module`` is imported, outside any function.

    Statements under ``if TYPE_CHECKING:`` never run and are left out. Raises SyntaxError.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    found: list[ImportStatement] = []

    def walk(body: Iterable[ast.stmt], block: str | None) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                bindings = _bindings(node, module, is_package)
                if bindings:
                    found.append(
                        ImportStatement(
                            line=node.lineno,
                            end_line=node.end_lineno or node.lineno,
                            source=" ".join(ast.unparse(node).split()),
                            bindings=tuple(bindings),
                            block=block,
                            alone_on_its_lines=_alone(node, lines),
                        )
                    )
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    walk(node.body, "if")
                walk(node.orelse, "if")
            elif isinstance(node, _TRY_STATEMENTS):
                walk(node.body, "try")
                for handler in node.handlers:
                    walk(handler.body, "try")
                walk(node.orelse, "try")
                walk(node.finalbody, "try")
            elif isinstance(node, ast.With | ast.For | ast.While):
                walk(node.body, type(node).__name__.lower())
                walk(getattr(node, "orelse", []), type(node).__name__.lower())
            elif isinstance(node, ast.ClassDef):
                walk(node.body, f"class {node.name}")

    walk(tree.body, None)
    return found
