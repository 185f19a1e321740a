"""Import traces → per-dependency times per run, and one import tree across runs (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from coldprof import stats
from coldprof.measure import importtime
from coldprof.measure.distributions import (
    FUNCTION,
    KIND_FUNCTION,
    KIND_RUNTIME,
    KIND_STDLIB,
    KIND_THIRD_PARTY,
    UNRESOLVED,
    Attribution,
    DependencyRef,
)
from coldprof.results.analyze import ImportTreeNode


def node_dependency(attribution: Attribution, module: str, parent_dep: str | None) -> str:
    """A module that cannot be found is a failed ``try: import x`` (brotli, certifi...): its
    cost, the search, belongs to whoever tried the import."""
    name = attribution.dependency_of(module).name
    if name == UNRESOLVED and parent_dep is not None:
        return parent_dep
    return name


def dependency_runs(
    trace: importtime.ImportTrace, attribution: Attribution
) -> tuple[dict[str, float], dict[str, float], dict[str, set[str]]]:
    """Per dependency in one run: summed self ms, inclusive ms (outermost entries), modules.

    An entry's inclusive time is the sum of the self times below it, not CPython's cumulative
    column: CPython rounds each row's self and cumulative up to the microsecond separately, so
    the self times of a subtree of n imports add up to as much as n-1 µs more than its root's
    cumulative, and a dependency with many small modules ((stdlib), ~180 of them) came out with
    self > inclusive. Summing the same figures keeps inclusive >= self and the selves adding up.
    """
    self_ms: dict[str, float] = defaultdict(float)
    inclusive_ms: dict[str, float] = defaultdict(float)
    modules: dict[str, set[str]] = defaultdict(set)

    def walk(node: importtime.ImportNode, open_deps: frozenset[str], parent_dep: str | None) -> int:
        """Record ``node``'s subtree; return the sum of its self times in µs."""
        if node.cached:
            return 0
        dep = node_dependency(attribution, node.module, parent_dep)
        self_ms[dep] += node.self_us / 1000
        # A failed ``try: import brotli`` imported nothing: its time is its importer's, but it
        # is none of its modules (urllib3 and httpx both try brotli; it belongs to neither).
        if dep == UNRESOLVED or attribution.dependency_of(node.module).name != UNRESOLVED:
            modules[dep].add(node.module)
        inner = open_deps | {dep}
        subtree_us = node.self_us + sum(walk(child, inner, dep) for child in node.children)
        if dep not in open_deps:
            inclusive_ms[dep] += subtree_us / 1000
        return subtree_us

    for root in trace.roots:
        walk(root, frozenset(), None)
    return self_ms, inclusive_ms, modules


def merge_tree(
    traces: Sequence[importtime.ImportTrace], attribution: Attribution
) -> tuple[ImportTreeNode, ...]:
    """One tree across runs: each module under its most common parent, with median times."""
    self_us: dict[str, list[int]] = defaultdict(list)
    cumulative_us: dict[str, list[int]] = defaultdict(list)
    parents: dict[str, Counter[str | None]] = defaultdict(Counter)
    order: dict[str, int] = {}
    for trace in traces:
        for node, parent in importtime.iter_nodes(trace.roots):
            if node.cached:
                continue
            order.setdefault(node.module, len(order))
            self_us[node.module].append(node.self_us)
            cumulative_us[node.module].append(node.cumulative_us)
            parents[node.module][parent.module if parent else None] += 1
    children: dict[str | None, list[str]] = defaultdict(list)
    for module in sorted(order, key=order.__getitem__):
        likeliest = parents[module].most_common(1)[0][0]
        children[likeliest if likeliest in order else None].append(module)

    def build(module: str, seen: frozenset[str], parent_dep: str | None) -> ImportTreeNode:
        dep = node_dependency(attribution, module, parent_dep)
        kids = [build(c, seen | {module}, dep) for c in children.get(module, []) if c not in seen]
        return ImportTreeNode(
            module=module,
            dependency=dep,
            self_ms=round(stats.median(self_us[module]) / 1000, 3),
            cumulative_ms=round(stats.median(cumulative_us[module]) / 1000, 3),
            children=tuple(kids),
        )

    return tuple(build(m, frozenset(), None) for m in children.get(None, []))


def subtrees_ms(trace: importtime.ImportTrace, attribution: Attribution, names: set[str]) -> float:
    """Import ms of everything a set of dependencies starts in one run, nested ones once."""
    total = 0.0
    stack: list[tuple[importtime.ImportNode, str | None]] = [(r, None) for r in trace.roots]
    while stack:
        node, parent_dep = stack.pop()
        if node.cached:
            continue
        dep = node_dependency(attribution, node.module, parent_dep)
        if dep in names:
            total += node.cumulative_us / 1000
        else:
            stack.extend((child, dep) for child in node.children)
    return total


def import_ms(trace: importtime.ImportTrace) -> float:
    """The import time one cold start measured: its top-level imports, as CPython timed them."""
    return sum(root.cumulative_us for root in trace.roots if not root.cached) / 1000


def dependency_ref(attribution: Attribution, name: str) -> DependencyRef:
    """The dependency a name stands for: an installed distribution, or a group of modules."""
    dist = attribution.by_name.get(name)
    if dist is not None:
        return DependencyRef(dist.name, dist.kind, dist.version)
    kinds = {FUNCTION: KIND_FUNCTION, "(stdlib)": KIND_STDLIB, "(runtime)": KIND_RUNTIME}
    return DependencyRef(name, kinds.get(name, KIND_THIRD_PARTY))
