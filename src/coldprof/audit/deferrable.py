"""audit --fail-on-deferrable-ms: the advisor's deferrable dependencies as audit findings."""

from __future__ import annotations

from coldprof.results.advisor import Deferrable
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import Finding

RULE_DEFERRABLE = "fail-on-deferrable-ms"


def deferrable_findings(result: AnalyzeResult, threshold_ms: float) -> list[Deferrable]:
    """The deferrable dependencies that would each save at least ``threshold_ms`` of init.

    For ``coldprof audit --fail-on-deferrable-ms N``: each returned item is one finding. An
    analyze result without the advisor's report (no ``--event``/``--verify``) has none.
    """
    if result.advisor is None:
        return []
    return [d for d in result.advisor.deferrable if d.saving_ms >= threshold_ms]


def deferrable_audit_findings(result: AnalyzeResult, threshold_ms: float) -> list[Finding]:
    """``deferrable_findings`` as audit findings (rule ``fail-on-deferrable-ms``)."""
    return [
        Finding(
            rule=RULE_DEFERRABLE,
            subject=d.name,
            message=(
                f"{d.name} is imported at init but no --event ran its code: "
                f"{d.saving_ms:,.1f} ms deferrable (limit {threshold_ms:g} ms). Fix: {d.fix}"
            ),
            measured=d.saving_ms,
            limit=threshold_ms,
        )
        for d in deferrable_findings(result, threshold_ms)
    ]
