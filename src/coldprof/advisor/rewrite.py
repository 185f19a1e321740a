"""Move module-level imports into the functions that use them (AST-located, text-edited)."""

from __future__ import annotations

import ast
import importlib.util
import os
import py_compile
import shutil
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from coldprof.advisor.imports import module_imports
from coldprof.advisor.uses import find_uses, name_use
from coldprof.errors import ColdprofError


class RewriteError(ColdprofError):
    """A rewritten module would not compile (a bug in the rewrite, not in the user's code)."""


# -- can an import move, and where to --------------------------------------------------------
@dataclass(frozen=True)
class Deferral:
    """The verdict for one binding of one import statement."""

    line: int
    name: str
    functions: tuple[str, ...]  # where the import would go
    reason: str | None = None  # why it cannot move automatically; None when it can

    @property
    def movable(self) -> bool:
        return self.reason is None


def _one_line_def(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return node.body[0].lineno == node.lineno


def plan_deferrals(
    source: str, module: str, is_package: bool, targets: Collection[tuple[int, str]]
) -> list[Deferral]:
    """For each (statement line, bound name) in ``targets``: can the import move, and where.

    An import can move when it is a plain statement of the module body and its name is used
    only inside functions: not at import time (decorators, defaults, class bodies, module
    code), not in ``__all__``, and never declared ``global``.
    """
    tree = ast.parse(source)
    # Keyed by line and name: ``import a; import b`` puts two statements on one line.
    statements = {
        (s.line, b.name): s for s in module_imports(source, module, is_package) for b in s.bindings
    }
    finder = find_uses(tree)
    verdicts = []
    for line, name in sorted(targets):
        statement = statements.get((line, name))
        use = name_use(finder, name)
        reason = None
        if statement is None:
            reason = f"no import of `{name}` at line {line}"
        elif name == "*":
            reason = "a star import cannot be moved: import the names you use"
        elif statement.block is not None:
            reason = f"inside a module-level `{statement.block}` block: move it by hand"
        elif not statement.alone_on_its_lines:
            reason = "shares its line with other code"
        elif use.import_time:
            lines = ", ".join(map(str, use.import_time[:3]))
            reason = f"`{name}` is used at import time (line {lines}): move that code first"
        elif not use.functions and not use.local_in:
            reason = f"nothing uses `{name}`: delete the import unless it runs for a side effect"
        elif use.global_in:
            reason = f"{use.global_in[0]}() declares `{name}` global"
        elif one_line := [f for f in use.functions if _one_line_def(finder.defs[f])]:
            reason = f"{one_line[0]}() is written on one line"
        verdicts.append(Deferral(line, name, use.functions, reason))
    return verdicts


# -- the rewrite -----------------------------------------------------------------------------
def _insertion_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """1-based line before which a statement goes first in ``node``'s body (after a docstring)."""
    body = node.body
    first = body[0]
    if (
        len(body) > 1
        and isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        first = body[1]
    decorators = getattr(first, "decorator_list", [])
    return int(min([first.lineno, *(d.lineno for d in decorators)]))


# The advisor's --verify runs this on a temporary copy of the package, never on the user's own
# directory. Edits are made on the source text at the lines the AST gives, so the rest of the
# file (comments, formatting) is left as it was.
def defer_imports(source: str, module: str, is_package: bool, deferrals: Iterable[Deferral]) -> str:
    """``source`` with each movable deferral's import taken out of the module body and put at
    the top of every function that uses its name. Raises RewriteError if the result would not
    compile."""
    movable = [d for d in deferrals if d.movable]
    if not movable:
        return source
    tree = ast.parse(source)
    finder = find_uses(tree)
    statements = {s.line: s for s in module_imports(source, module, is_package)}
    nodes = {n.lineno: n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
    lines = source.splitlines(keepends=True)
    moving: dict[int, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for deferral in movable:
        moving[deferral.line][deferral.name] = deferral.functions

    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, replacement), 1-based
    per_function: dict[str, list[str]] = defaultdict(list)
    for line, names in sorted(moving.items()):
        node, statement = nodes[line], statements[line]
        kept_aliases = []
        for alias, binding in zip(node.names, statement.bindings, strict=True):
            if binding.name in names:
                for function in names[binding.name]:
                    if binding.text not in per_function[function]:
                        per_function[function].append(binding.text)
            else:
                kept_aliases.append(alias)
        indent = lines[line - 1][: node.col_offset]
        if kept_aliases:
            kept: ast.stmt = (
                ast.Import(names=kept_aliases)
                if isinstance(node, ast.Import)
                else ast.ImportFrom(module=node.module, names=kept_aliases, level=node.level)
            )
            replacement = [f"{indent}{ast.unparse(kept)}\n"]
        else:
            replacement = [f"{indent}# coldprof: deferred into its functions: {statement.source}\n"]
        edits.append((line, statement.end_line, replacement))
    for function, imports in per_function.items():
        definition = finder.defs[function]
        at = _insertion_line(definition)
        text = lines[at - 1]
        indent = text[: len(text) - len(text.lstrip())]
        edits.append((at, at - 1, [f"{indent}{statement}\n" for statement in imports]))
    for first, last, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[first - 1 : last] = replacement
    result = "".join(lines)
    try:
        compile(result, f"<rewritten {module}>", "exec")
    except SyntaxError as e:
        raise RewriteError(f"deferring imports in {module} broke it: {e}") from e
    return result


def rewritten_copy(
    task_root: Path,
    destination: Path,
    own_files: Iterable[str],
    new_sources: Mapping[str, str],
) -> Path:
    """A copy of ``task_root`` at ``destination`` with ``new_sources`` (relative path → text).

    The function's own files are copied; directories holding none of them (installed
    distributions) are symlinked, so a package with numpy in it costs no copying. A rewritten
    module whose original shipped bytecode gets fresh bytecode, so both sides compile the same.
    """
    root = os.path.normpath(task_root)
    own = {os.path.relpath(path, root) for path in own_files}
    own_dirs = {os.path.dirname(path) for path in own}
    for directory in list(own_dirs):
        while directory:
            directory = os.path.dirname(directory)
            own_dirs.add(directory)

    def mirror(relative: str) -> None:
        target = destination / relative if relative else destination
        target.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(os.path.join(root, relative)):
            path = os.path.join(relative, entry.name) if relative else entry.name
            if path in own_dirs and entry.is_dir(follow_symlinks=False):
                mirror(path)
            elif path in own:
                shutil.copy2(entry.path, destination / path, follow_symlinks=False)
            else:
                os.symlink(entry.path, destination / path)

    mirror("")
    for relative, text in new_sources.items():
        copied = destination / relative
        copied.write_text(text)
        original_pyc = importlib.util.cache_from_source(os.path.join(root, relative))
        if os.path.exists(original_pyc):
            py_compile.compile(
                str(copied), cfile=importlib.util.cache_from_source(str(copied)), doraise=True
            )
    return destination
