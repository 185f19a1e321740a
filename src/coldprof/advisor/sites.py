"""Where the function's own code imports a dependency, and whether that import can move."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from coldprof.advisor.imports import ImportStatement, module_imports
from coldprof.advisor.rewrite import Deferral, plan_deferrals
from coldprof.advisor.usage import Resolver
from coldprof.measure.distributions import UNRESOLVED
from coldprof.results.advisor import ImportSite


def _binding_dependency(statement: ImportStatement, resolver: Resolver) -> list[str]:
    names = []
    for binding in statement.bindings:
        name = UNRESOLVED
        for candidate in binding.candidates:
            name = resolver.dependency_of(candidate).name
            if name != UNRESOLVED:
                break
        names.append(name)
    return names


def relative(path: Path, task_root: Path) -> str:
    """``path`` under the task root as the report names it; as given when outside it."""
    try:
        return str(path.relative_to(task_root))
    except ValueError:
        return str(path)


def import_sites(
    modules: Iterable[str], wanted: set[str], resolver: Resolver, task_root: Path
) -> dict[str, list[ImportSite]]:
    """Import statements in the function's own ``modules`` that load a ``wanted`` dependency."""
    sites: dict[str, list[ImportSite]] = defaultdict(list)
    for module in modules:
        source_file = resolver.source_file(module)
        if source_file is None:
            continue
        try:
            source = source_file.read_text(encoding="utf-8")
            statements = module_imports(source, module, source_file.name == "__init__.py")
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        matches: list[tuple[ImportStatement, str, list[int]]] = []
        targets: set[tuple[int, str]] = set()
        for statement in statements:
            owners = _binding_dependency(statement, resolver)
            for dependency in wanted & set(owners):
                picked = [i for i, owner in enumerate(owners) if owner == dependency]
                matches.append((statement, dependency, picked))
                targets.update((statement.line, statement.bindings[i].name) for i in picked)
        if not matches:
            continue
        verdicts = {
            (d.line, d.name): d
            for d in plan_deferrals(source, module, source_file.name == "__init__.py", targets)
        }
        for statement, dependency, picked in matches:
            bindings = [statement.bindings[i] for i in picked]
            verdict: list[Deferral] = [verdicts[(statement.line, b.name)] for b in bindings]
            functions = sorted({f for v in verdict for f in v.functions})
            reason = next((v.reason for v in verdict if v.reason), None)
            sites[dependency].append(
                ImportSite(
                    file=relative(source_file, task_root),
                    line=statement.line,
                    statement=statement.source,
                    imports="; ".join(b.text for b in bindings),
                    module=module,
                    functions=tuple(functions),
                    reason=reason,
                )
            )
    return sites
