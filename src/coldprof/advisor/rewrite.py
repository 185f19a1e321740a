"""Move module-level imports into the functions that use them (AST-located, text-edited).

The advisor uses the analysis half to name the import lines and the functions a fix would
touch; ``--verify`` uses the rewrite half on a temporary copy of the package, never on the
user's own directory. Edits are made on the source text at the lines the AST gives, so the
rest of the file (comments, formatting) is left as it was.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import py_compile
import shutil
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coldprof.errors import ColdprofError

_TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"}
_TRY_STATEMENTS = (ast.Try, getattr(ast, "TryStar", ast.Try))  # try/except* is 3.11+


class RewriteError(ColdprofError):
    """A rewritten module would not compile (a bug in the rewrite, not in the user's code)."""


# -- what a module imports at import time ---------------------------------------------------------
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


# -- where names are used --------------------------------------------------------------------
@dataclass(frozen=True)
class NameUse:
    """Where a module uses one name: inside which functions, and at import time."""

    # Outermost functions (qualified: ``Cls.method``) where the name means the module's global,
    # so a deferred import must go at their top.
    functions: tuple[str, ...] = ()
    import_time: tuple[int, ...] = ()  # lines where it is used while the module is imported
    local_in: tuple[str, ...] = ()  # functions that use it only as their own (local) name
    global_in: tuple[str, ...] = ()  # functions that declare it ``global``


@dataclass
class _Scope:
    """One function, lambda, comprehension or class body inside an outermost function."""

    is_class: bool = False
    loads: set[str] = field(default_factory=set)
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    children: list[_Scope] = field(default_factory=list)

    def child(self, is_class: bool = False) -> _Scope:
        scope = _Scope(is_class=is_class)
        self.children.append(scope)
        return scope

    def uses_global(self, name: str, enclosing_locals: frozenset[str] = frozenset()) -> bool:
        """Whether a load of ``name`` here or below resolves to the module's global."""
        declared_global = name in self.globals
        local_here = name in self.locals and not declared_global
        if name in self.loads and (
            declared_global or (not local_here and name not in enclosing_locals)
        ):
            return True
        # Nested functions see enclosing function locals, never a class body's.
        visible = (
            enclosing_locals | {name} if local_here and not self.is_class else enclosing_locals
        )
        return any(c.uses_global(name, frozenset(visible)) for c in self.children)

    def loads_anywhere(self, name: str) -> bool:
        return name in self.loads or any(c.loads_anywhere(name) for c in self.children)

    def declares_global(self, name: str) -> bool:
        return name in self.globals or any(c.declares_global(name) for c in self.children)


def _arguments(args: ast.arguments) -> list[ast.arg]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    return every + [a for a in (args.vararg, args.kwarg) if a is not None]


@dataclass
class _UseFinder(ast.NodeVisitor):
    """Finds where names are used at import time and in which outermost function."""

    lazy_annotations: bool  # ``from __future__ import annotations``: never evaluated
    scope: _Scope | None = None  # None while at import time (module or class body)
    class_path: list[str] = field(default_factory=list)
    functions: dict[str, _Scope] = field(default_factory=dict)
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    import_time: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _in_all: bool = False

    def _bind(self, name: str, line: int) -> None:
        if self.scope is None:
            self.import_time[name].append(line)  # rebinding it at import time
        else:
            self.scope.locals.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if self.scope is None:
                self.import_time[node.id].append(node.lineno)
            else:
                self.scope.loads.add(node.id)
        else:
            self._bind(node.id, node.lineno)

    def visit_Import(self, node: ast.Import) -> None:
        if self.scope is not None:  # module-level imports are what is being analysed
            for alias in node.names:
                self.scope.locals.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if self.scope is not None:
            for alias in node.names:
                self.scope.locals.add(alias.asname or alias.name)

    def visit_Global(self, node: ast.Global) -> None:
        if self.scope is not None:
            self.scope.globals.update(node.names)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, node.lineno)
        self.generic_visit(node)

    def _annotation(self, node: ast.expr | None) -> None:
        if node is not None and not self.lazy_annotations:
            self.visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)
        if self.scope is None:  # a local variable's annotation is never evaluated
            self._annotation(node.annotation)

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators, defaults and annotations run where and when the def statement runs.
        for expr in [*node.decorator_list, *node.args.defaults]:
            self.visit(expr)
        for default in node.args.kw_defaults:
            if default is not None:
                self.visit(default)
        for arg in _arguments(node.args):
            self._annotation(arg.annotation)
        self._annotation(node.returns)
        enclosing = self.scope
        if enclosing is None:
            name = ".".join([*self.class_path, node.name])
            scope = self.functions[name] = _Scope()
            self.defs[name] = node
        else:
            enclosing.locals.add(node.name)
            scope = enclosing.child()
        scope.locals.update(a.arg for a in _arguments(node.args))
        self.scope = scope
        for statement in node.body:
            self.visit(statement)
        self.scope = enclosing

    visit_FunctionDef = _visit_def
    visit_AsyncFunctionDef = _visit_def

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(expr)
        if self.scope is None:  # no place to put an import: count it as import time
            self.visit(node.body)
            return
        enclosing, self.scope = self.scope, self.scope.child()
        self.scope.locals.update(a.arg for a in _arguments(node.args))
        self.visit(node.body)
        self.scope = enclosing

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        if self.scope is None:  # runs at import time, like the module body around it
            self.generic_visit(node)
            return
        enclosing, self.scope = self.scope, self.scope.child()
        self.generic_visit(node)
        self.scope = enclosing

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_DictComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        if self.scope is None:
            self.class_path.append(node.name)
            for statement in node.body:
                self.visit(statement)
            self.class_path.pop()
            return
        self.scope.locals.add(node.name)
        enclosing, self.scope = self.scope, self.scope.child(is_class=True)
        for statement in node.body:
            self.visit(statement)
        self.scope = enclosing

    def visit_Assign(self, node: ast.Assign) -> None:
        # A name listed in __all__ is re-exported: other modules may import it from here.
        self._in_all = self.scope is None and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        )
        self.generic_visit(node)
        self._in_all = False

    def visit_Constant(self, node: ast.Constant) -> None:
        if self._in_all and isinstance(node.value, str):
            self.import_time[node.value].append(node.lineno)


def _has_lazy_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names)
        for node in tree.body
    )


def _find_uses(tree: ast.Module) -> _UseFinder:
    finder = _UseFinder(lazy_annotations=_has_lazy_annotations(tree))
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            finder.visit(node)
    return finder


def _name_use(finder: _UseFinder, name: str) -> NameUse:
    functions = finder.functions.items()
    return NameUse(
        functions=tuple(sorted(f for f, scope in functions if scope.uses_global(name))),
        import_time=tuple(sorted(set(finder.import_time.get(name, ())))),
        local_in=tuple(
            sorted(
                f
                for f, scope in functions
                if scope.loads_anywhere(name) and not scope.uses_global(name)
            )
        ),
        global_in=tuple(sorted(f for f, scope in functions if scope.declares_global(name))),
    )


def name_uses(source: str, names: Collection[str]) -> dict[str, NameUse]:
    """Where ``source`` uses each of ``names`` (module-level imports themselves excluded)."""
    finder = _find_uses(ast.parse(source))
    return {name: _name_use(finder, name) for name in names}


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
    statements = {s.line: s for s in module_imports(source, module, is_package)}
    finder = _find_uses(tree)
    verdicts = []
    for line, name in sorted(targets):
        statement = statements.get(line)
        use = _name_use(finder, name)
        reason = None
        if statement is None or all(b.name != name for b in statement.bindings):
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


def defer_imports(source: str, module: str, is_package: bool, deferrals: Iterable[Deferral]) -> str:
    """``source`` with each movable deferral's import taken out of the module body and put at
    the top of every function that uses its name. Raises RewriteError if the result would not
    compile."""
    movable = [d for d in deferrals if d.movable]
    if not movable:
        return source
    tree = ast.parse(source)
    finder = _find_uses(tree)
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
