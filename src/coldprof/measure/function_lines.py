"""The function's own init, line by line: one traced cold start → a cost per module-level statement.

The trace (``child/line_tracer.py``) times each line of the chosen modules' bodies in a cold
start of its own, never a timed one, with ``-X importtime`` on as in the timed runs. Tracing
slows code down unevenly (``sys.settrace`` much more than ``sys.monitoring``), so its times
are brought back to the timed runs' before they are reported:

- what a statement imports takes the timed runs' median import time of those modules;
- the rest of a module's statements share its timed self time (``-X importtime``'s own time of
  the module), in proportion to their traced times.

A statement's ``self_ms`` leaves out the nested module bodies that are traced too (the function
importing its own helper module): those report their own lines.
"""

from __future__ import annotations

import ast
import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coldprof.errors import UsageError
from coldprof.figures import shorten
from coldprof.measure import importtime
from coldprof.measure.distributions import FUNCTION, Attribution
from coldprof.results.analyze import FunctionLine, ImportTreeNode
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.outcomes import InitOutcome
from coldprof.runner.spec import EnvironmentSpec

TEXT_WIDTH = 60
CALLEE_WIDTH = 40
# Below this, a module's traced remainder is noise: no scale factor is read from it.
_MIN_REST_MS = 0.5


@dataclass(frozen=True)
class TracedLine:
    file: str
    line: int
    ms: float
    hits: int
    imported: tuple[str, ...]  # modules that entered sys.modules while it ran


@dataclass(frozen=True)
class LineTrace:
    """What the traced cold start wrote, and its -X importtime tree."""

    tracer: str
    python: str
    modules: Mapping[str, str]  # traced file → its module name
    lines: tuple[TracedLine, ...]
    imports: importtime.ImportTrace


def parse_trace(text: str, stderr: str) -> LineTrace | None:
    """The child's JSON record with the importtime rows it printed; None if unreadable."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    lines = tuple(
        TracedLine(
            file=str(entry.get("file", "")),
            line=int(entry.get("line", 0)),
            ms=float(entry.get("ms", 0.0)),
            hits=int(entry.get("hits", 0)),
            imported=tuple(map(str, entry.get("imported", ()))),
        )
        for entry in data.get("lines", ())
        if isinstance(entry, dict)
    )
    modules = {
        str(m.get("file", "")): str(m.get("module", ""))
        for m in data.get("modules", ())
        if isinstance(m, dict)
    }
    return LineTrace(
        tracer=str(data.get("tracer", "")),
        python=str(data.get("python", "")),
        modules=modules,
        lines=lines,
        imports=importtime.parse(stderr),
    )


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def traced_files(attribution: Attribution, dependencies: Sequence[str]) -> dict[str, str]:
    """The .py files whose module bodies are traced → the dependency each belongs to: the
    function's own, and those of each ``--lines`` dependency."""
    files = {f: FUNCTION for f in attribution.function_files() if f.endswith(".py")}
    by_name = attribution.by_name
    for name in dependencies:
        dist = by_name.get(_normalize(name))
        if dist is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise UsageError(
                f"--lines {name}: no such distribution in the package (it has: {known})"
            )
        files.update({f: dist.name for f in dist.files if f.endswith(".py")})
    return files


def traced_cold_start(
    spec: EnvironmentSpec, files: Iterable[str]
) -> tuple[InitOutcome, LineTrace | None]:
    """One cold start with the line tracer on ``files``; killed once init is over. Not timed:
    give ``spec`` an init limit that allows for the tracing."""
    with tempfile.TemporaryDirectory(prefix="coldprof-lines-") as scratch:
        config = Path(scratch) / "config.json"
        output = Path(scratch) / "lines.json"
        config.write_text(json.dumps({"files": sorted(files), "output": str(output)}))
        traced = replace(spec, lines_config=config, importtime=True, merge_stderr=False)
        environment = ExecutionEnvironment(traced)
        try:
            init = environment.start()
        finally:
            environment.kill()
        text = output.read_text(errors="replace") if output.is_file() else ""
    stderr = environment.stderr_text(0, environment.init_stderr_end or None)
    return init, parse_trace(text, stderr)


# -- statements -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    line: int  # where it starts (its first decorator, for a decorated def or class)
    text: str
    kind: str
    callee: str | None = None


def _header_expressions(node: ast.stmt) -> list[ast.AST]:
    """The expressions a compound statement evaluates itself, not in its body."""
    if isinstance(node, (ast.If, ast.While)):
        return [node.test]
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.iter]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [item.context_expr for item in node.items]
    match_statement = getattr(ast, "Match", None)
    if match_statement is not None and isinstance(node, match_statement):
        return [node.subject]  # type: ignore[attr-defined,unused-ignore]
    return []


def _body_statements(node: ast.stmt) -> list[ast.stmt]:
    nested: list[ast.stmt] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list):
            nested += [s for s in value if isinstance(s, ast.stmt)]
    for handler in getattr(node, "handlers", ()):
        nested += handler.body
    for case in getattr(node, "cases", ()):
        nested += case.body
    return nested


def _first_call(nodes: Iterable[ast.AST]) -> ast.Call | None:
    for root in nodes:
        for node in ast.walk(root):  # breadth first: the outermost call
            if isinstance(node, ast.Call):
                return node
    return None


def callee_name(func: ast.expr) -> str:
    """A callee as written, with the arguments of calls along the way left out:
    ``boto3.resource("dynamodb").Table`` reads ``boto3.resource().Table``."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return f"{callee_name(func.value)}.{func.attr}"
    if isinstance(func, ast.Call):
        return f"{callee_name(func.func)}()"
    if isinstance(func, ast.Subscript):
        return f"{callee_name(func.value)}[]"
    return ast.unparse(func)


def _describe(node: ast.stmt, lines: Sequence[str]) -> Statement:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    first = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        end = node.end_lineno or node.lineno
        return Statement(
            start, shorten(" ".join(lines[node.lineno - 1 : end]), TEXT_WIDTH), "import"
        )
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return Statement(start, shorten(first, TEXT_WIDTH), "def")
    if isinstance(node, ast.ClassDef):
        return Statement(start, shorten(first, TEXT_WIDTH), "class")
    compound = bool(_body_statements(node))
    if compound:
        text = first
        call = _first_call(_header_expressions(node))
    else:
        end = node.end_lineno or node.lineno
        text = " ".join(lines[node.lineno - 1 : end])
        call = _first_call([node])
    if call is None:
        return Statement(start, shorten(text, TEXT_WIDTH), "other")
    return Statement(
        start, shorten(text, TEXT_WIDTH), "call", shorten(callee_name(call.func), CALLEE_WIDTH)
    )


def statements_by_line(source: str) -> dict[int, Statement]:
    """Each line of a module's body → the innermost statement that module-level code runs
    there (a def or class counts whole: its body runs elsewhere, or as part of it)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    owner: dict[int, Statement] = {}

    def visit(nodes: Sequence[ast.stmt]) -> None:
        for node in nodes:
            statement = _describe(node, lines)
            for number in range(statement.line, (node.end_lineno or node.lineno) + 1):
                owner[number] = statement
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(_body_statements(node))

    visit(tree.body)
    return owner


# -- scaled to the timed runs -----------------------------------------------------------------
def _find(
    roots: Iterable[ImportTreeNode | importtime.ImportNode], module: str
) -> ImportTreeNode | importtime.ImportNode | None:
    stack = list(roots)
    while stack:
        node = stack.pop(0)
        if node.module == module and not getattr(node, "cached", False):
            return node
        stack.extend(node.children)
    return None


def _children_ms(node: ImportTreeNode | importtime.ImportNode | None) -> dict[str, float]:
    if node is None:
        return {}
    out: dict[str, float] = {}
    for child in node.children:
        if isinstance(child, importtime.ImportNode):
            if not child.cached:
                out.setdefault(child.module, child.cumulative_us / 1000)
        else:
            out.setdefault(child.module, child.cumulative_ms)
    return out


@dataclass
class _Row:
    statement: Statement
    traced_ms: float = 0.0
    traced_imports_ms: float = 0.0
    timed_imports_ms: float = 0.0


def _relative(file: str, task_root: Path, sites: Sequence[Path]) -> str:
    path = Path(file)
    root = next((r for r in (task_root, *sites) if path.is_relative_to(r)), None)
    return str(path.relative_to(root)) if root is not None else file


def function_lines(
    trace: LineTrace,
    timed_imports: Sequence[ImportTreeNode],
    dependency_of_file: Mapping[str, str],
    task_root: Path,
    sites: Sequence[Path] = (),
) -> list[FunctionLine]:
    """Every traced module-level statement with its cost, scaled to the timed runs, heaviest
    first."""
    by_file: dict[str, list[TracedLine]] = {}
    for traced in trace.lines:
        by_file.setdefault(traced.file, []).append(traced)
    traced_modules = set(trace.modules.values())
    out: list[FunctionLine] = []
    for file, traced_lines in by_file.items():
        module = trace.modules.get(file, "")
        try:
            statements = statements_by_line(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            statements = {}
        timed_node = _find(timed_imports, module)
        timed_children = _children_ms(timed_node)
        traced_children = _children_ms(_find(trace.imports.roots, module))
        rows: dict[int, _Row] = {}
        for traced in traced_lines:
            statement = statements.get(traced.line) or Statement(traced.line, "", "other")
            row = rows.setdefault(statement.line, _Row(statement))
            row.traced_ms += traced.ms
            for name in dict.fromkeys(traced.imported):
                if name in traced_modules or name not in traced_children:
                    continue  # a nested traced body (its lines say), or not this module's import
                row.traced_imports_ms += traced_children[name]
                row.timed_imports_ms += timed_children.get(name, traced_children[name])
        rest = {n: max(r.traced_ms - r.traced_imports_ms, 0.0) for n, r in rows.items()}
        total_rest = sum(rest.values())
        scale = 1.0
        if timed_node is not None and total_rest >= _MIN_REST_MS:
            assert isinstance(timed_node, ImportTreeNode)
            scale = timed_node.self_ms / total_rest
        relative = _relative(file, task_root, sites)
        for number, row in rows.items():
            out.append(
                FunctionLine(
                    file=relative,
                    line=number,
                    text=row.statement.text,
                    self_ms=round(row.timed_imports_ms + scale * rest[number], 3),
                    kind=row.statement.kind,
                    callee=row.statement.callee,
                    module=module,
                    dependency=dependency_of_file.get(file, FUNCTION),
                    traced_ms=round(row.traced_ms, 3),
                )
            )
    out.sort(key=lambda line: (-line.self_ms, line.file, line.line))
    return out
