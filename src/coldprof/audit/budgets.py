"""Budgets a run is held to (init, per dependency, package), and the findings they give."""

from __future__ import annotations

from collections.abc import Sequence

from coldprof.audit.handler import handler_dependencies
from coldprof.audit.text import MB, mb, ms
from coldprof.measure.distributions import KIND_FUNCTION, KIND_RUNTIME, KIND_THIRD_PARTY
from coldprof.results.analyze import AnalyzeResult, DependencyCost
from coldprof.results.audit import Budgets, Finding

RULE_INIT_BUDGET = "max-init-ms"
RULE_DEPENDENCY_BUDGET = "max-dependency-ms"
RULE_PACKAGE_BUDGET = "max-package-mb"

# Dependencies a budget can be held against: the ones a function chooses to import.
_BUDGETED_KINDS = (KIND_THIRD_PARTY, KIND_RUNTIME)


def budgets_set(budgets: Budgets) -> bool:
    return any(
        v is not None
        for v in (budgets.max_init_ms, budgets.max_dependency_ms, budgets.max_package_mb)
    )


def _budgeted(result: AnalyzeResult) -> list[DependencyCost]:
    """Dependencies the function itself imports, not those the runtime loads for every function."""
    pulled_in = handler_dependencies(result)
    return [
        d
        for d in result.dependencies
        if d.kind in _BUDGETED_KINDS
        and (d.name in pulled_in if pulled_in is not None else d.kind == KIND_THIRD_PARTY)
    ]


def _largest(deps: Sequence[DependencyCost], key: str, total: float, count: int = 3) -> str:
    """The few dependencies that make up most of ``total``; each must hold at least 5% of it."""
    ranked = sorted(deps, key=lambda d: -float(getattr(d, key)))[:count]
    shown = [d for d in ranked if getattr(d, key) >= 0.05 * total and getattr(d, key) > 0]
    if key.endswith("_bytes"):
        return ", ".join(f"{d.name} {mb(getattr(d, key))}" for d in shown)
    return ", ".join(f"{d.name} {ms(getattr(d, key))}" for d in shown)


def budget_findings(result: AnalyzeResult, budgets: Budgets) -> list[Finding]:
    findings = []
    deps = _budgeted(result)
    init = result.init_ms
    if budgets.max_init_ms is not None and init.median > budgets.max_init_ms:
        heaviest = _largest(deps, "inclusive_ms", init.median)
        findings.append(
            Finding(
                RULE_INIT_BUDGET,
                "init",
                f"init takes {ms(init.median)} (median of {result.runs}, p90 {ms(init.p90)}), "
                f"over the {ms(budgets.max_init_ms)} budget"
                + (f"; the heaviest imports: {heaviest}" if heaviest else ""),
                init.median,
                budgets.max_init_ms,
            )
        )
    if budgets.max_dependency_ms is not None:
        for dep in deps:
            if dep.inclusive_ms > budgets.max_dependency_ms:
                version = f" {dep.version}" if dep.version else ""
                findings.append(
                    Finding(
                        RULE_DEPENDENCY_BUDGET,
                        dep.name,
                        f"{dep.name}{version} costs {ms(dep.inclusive_ms)} at init "
                        f"(self {ms(dep.self_ms)}, {dep.modules} modules), over the "
                        f"{ms(budgets.max_dependency_ms)} budget per dependency",
                        dep.inclusive_ms,
                        budgets.max_dependency_ms,
                    )
                )
    package = result.package
    if budgets.max_package_mb is not None and package.zipped_bytes > budgets.max_package_mb * MB:
        biggest = _largest(
            [d for d in result.dependencies if d.kind in (KIND_THIRD_PARTY, KIND_FUNCTION)],
            "zipped_bytes",
            package.zipped_bytes,
        )
        findings.append(
            Finding(
                RULE_PACKAGE_BUDGET,
                "package",
                f"the package is {mb(package.zipped_bytes)} zipped "
                f"({mb(package.unzipped_bytes)} unzipped), over the "
                f"{budgets.max_package_mb:g} MiB budget"
                + (f"; the largest: {biggest} zipped" if biggest else ""),
                round(package.zipped_bytes / MB, 3),
                budgets.max_package_mb,
                unit="MB",
            )
        )
    return findings
