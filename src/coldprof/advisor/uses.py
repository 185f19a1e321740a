"""Where a module uses a name: at import time, or inside which outermost functions."""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field


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
class UseFinder(ast.NodeVisitor):
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


def find_uses(tree: ast.Module) -> UseFinder:
    finder = UseFinder(lazy_annotations=_has_lazy_annotations(tree))
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            finder.visit(node)
    return finder


def name_use(finder: UseFinder, name: str) -> NameUse:
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
