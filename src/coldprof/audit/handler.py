"""Which dependencies the handler's import pulls in, and which the runtime loads for itself."""

from __future__ import annotations

from collections.abc import Sequence

from coldprof.measure.distributions import KIND_RUNTIME
from coldprof.results.analyze import AnalyzeResult, ImportTreeNode


def handler_dependencies(result: AnalyzeResult) -> set[str] | None:
    """The dependencies the handler's own import pulls in; None when the tree lacks the handler."""
    module = result.handler.rsplit(".", 1)[0].replace("/", ".")
    found: set[str] = set()

    def collect(node: ImportTreeNode) -> None:
        found.add(node.dependency)
        for child in node.children:
            collect(child)

    def find(nodes: Sequence[ImportTreeNode]) -> bool:
        for node in nodes:
            if node.module == module:
                collect(node)
                return True
            if find(node.children):
                return True
        return False

    return found if find(result.imports) else None


def runtime_only(result: AnalyzeResult) -> set[str]:
    """Runtime-provided dependencies the runtime imports for itself, before the handler."""
    pulled_in = handler_dependencies(result)
    if pulled_in is None:
        return set()
    return {
        d.name for d in result.dependencies if d.kind == KIND_RUNTIME and d.name not in pulled_in
    }
