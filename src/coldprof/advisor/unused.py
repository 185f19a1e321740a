"""Which dependencies init imports that no invocation ran, and which of them are the roots."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from coldprof.advisor.usage import Resolver, UsageTrace
from coldprof.measure.distributions import (
    FUNCTION,
    KIND_FUNCTION,
    KIND_RUNTIME,
    KIND_THIRD_PARTY,
    UNRESOLVED,
    DependencyRef,
)
from coldprof.results.analyze import ImportTreeNode

# A dependency is *deferrable* when it was imported at init, none of its code ran during any of
# the given invocations (Python code, or a C function it defines), and the function's
# module-level code did not call into it at init. What it pulls in (requests → urllib3, idna,
# ...) hangs under it and is never counted twice.

# Dependencies a function chooses to import, and so can choose to import later.
CANDIDATE_KINDS = (KIND_THIRD_PARTY, KIND_RUNTIME)


@dataclass(frozen=True)
class Entry:
    """Where a dependency's import starts in the merged tree, and what led there."""

    node: ImportTreeNode
    ancestors: tuple[ImportTreeNode, ...]


def dependency_entries(roots: Sequence[ImportTreeNode]) -> dict[str, list[Entry]]:
    """Each dependency's outermost nodes: the imports that brought it in."""
    found: dict[str, list[Entry]] = defaultdict(list)
    stack: list[tuple[ImportTreeNode, tuple[ImportTreeNode, ...]]] = [(r, ()) for r in roots]
    while stack:
        node, ancestors = stack.pop()
        if not ancestors or ancestors[-1].dependency != node.dependency:
            found[node.dependency].append(Entry(node, ancestors))
        stack.extend((child, (*ancestors, node)) for child in node.children)
    return found


def tree_saving(roots: Sequence[ImportTreeNode], deferred: Iterable[str]) -> float:
    """Init ms of every import a set of dependencies starts, each subtree counted once."""
    names = set(deferred)
    total = 0.0
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.dependency in names:
            total += node.cumulative_ms  # its subtree, pulled-in dependencies included
        else:
            stack.extend(node.children)
    return round(total, 3)


def absolute_file(file: str, cwd: str) -> str:
    """A code file as the child named it, made absolute against the child's cwd."""
    if file.startswith("<") or os.path.isabs(file) or not cwd:
        return file
    return os.path.join(cwd, file)


def used_by_invocation(
    usage: UsageTrace, resolver: Resolver, candidates: set[str]
) -> list[set[str]]:
    """Per invocation, the dependencies whose code ran: those init imported, and those the
    invocation imported itself (a handler's own ``import igraph``) and so ran."""

    def counts(ref: DependencyRef | None) -> bool:
        return ref is not None and (ref.name in candidates or ref.kind in CANDIDATE_KINDS)

    per_invocation = []
    for invocation in usage.invocations:
        names = set()
        for file in invocation.files:
            ref = resolver.dependency_of_file(absolute_file(file, usage.cwd))
            if ref is not None and counts(ref):
                names.add(ref.name)
        for module in invocation.modules:
            ref = resolver.dependency_of(module)
            if counts(ref) and ref.name != UNRESOLVED:
                names.add(ref.name)
        per_invocation.append(names)
    return per_invocation


def needed_at_init(usage: UsageTrace, resolver: Resolver, candidates: set[str]) -> dict[str, str]:
    """Dependencies the function's own module-level code called into during init → where."""
    needed: dict[str, str] = {}

    def body_is_function(body: str) -> bool:
        ref = resolver.dependency_of_file(absolute_file(body, usage.cwd))
        return ref is not None and ref.kind == KIND_FUNCTION

    for code, body in usage.init_code:
        ref = resolver.dependency_of_file(absolute_file(code, usage.cwd))
        if ref is not None and ref.name in candidates and body_is_function(body):
            needed.setdefault(ref.name, body)
    for module, body in usage.init_calls:
        name = resolver.dependency_of(module).name
        if name in candidates and body_is_function(body):
            needed.setdefault(name, body)
    return needed


def imported_by_function(entries: Mapping[str, list[Entry]]) -> set[str]:
    """Dependencies the function's own code brought in (the runtime's own imports excluded)."""
    return {
        name
        for name, found in entries.items()
        if any(a.dependency == FUNCTION for entry in found for a in entry.ancestors)
    }


@dataclass
class Classified:
    """The unused dependencies the function's code imports: roots, what they pull, what stays."""

    roots: dict[str, set[str]] = field(default_factory=dict)  # root → function modules
    pulled: dict[str, set[str]] = field(default_factory=dict)  # dependency → its pullers
    kept: dict[str, str] = field(default_factory=dict)  # dependency → why it stays


def classify(
    entries: Mapping[str, list[Entry]], unused: set[str], candidates: set[str]
) -> Classified:
    """Sort the ``unused`` dependencies by how the function's own code came to import them."""
    out = Classified()
    for name, found in entries.items():
        if name not in unused:
            continue
        blocked = None
        direct: set[str] = set()
        pullers: set[str] = set()
        by_user = False
        for entry in found:
            intermediates = []
            function_module = None
            for ancestor in reversed(entry.ancestors):
                if ancestor.dependency == FUNCTION:
                    function_module = ancestor.module
                    break
                intermediates.append(ancestor.dependency)
            if function_module is None:
                continue  # the runtime's own import, not the function's
            by_user = True
            holding = [d for d in intermediates if d in candidates and d not in unused]
            if holding:
                blocked = f"pulled in by {holding[-1]}, which stays"
            elif pulling := [d for d in intermediates if d in unused]:
                pullers.add(pulling[-1])
            else:
                direct.add(function_module)
        if not by_user:
            continue
        if blocked:
            out.kept[name] = blocked
        elif direct:
            out.roots[name] = direct
        else:
            out.pulled[name] = pullers
    # A dependency pulled in only by one that stays, stays too.
    changed = True
    while changed:
        changed = False
        for name, pullers in list(out.pulled.items()):
            staying = [p for p in pullers if p not in out.roots and p not in out.pulled]
            if staying:
                out.kept[name] = f"pulled in by {staying[0]}, which stays"
                del out.pulled[name]
                changed = True
    return out


def root_of(name: str, pulled: Mapping[str, set[str]], roots: Collection[str]) -> set[str]:
    """The root findings a pulled dependency hangs from."""
    seen, todo, found = set(), [name], set()
    while todo:
        current = todo.pop()
        for puller in pulled.get(current, ()):
            if puller in roots:
                found.add(puller)
            elif puller not in seen:
                seen.add(puller)
                todo.append(puller)
    return found


def walk(node: ImportTreeNode) -> Iterable[ImportTreeNode]:
    """``node`` and every node under it."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)
