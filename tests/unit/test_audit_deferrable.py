"""audit.deferrable: the advisor's deferrable dependencies as --fail-on-deferrable-ms findings."""

from __future__ import annotations

import json
from dataclasses import replace

from coldprof.audit.deferrable import RULE_DEFERRABLE, deferrable_audit_findings
from coldprof.results.analyze import AnalyzeResult
from conftest import ASSETS

# requests, deferrable, saving 162.0 ms (analyze --event --verify of heavy_deps).
SAVED = ASSETS / "results" / "analyze-verify.json"


def test_each_deferrable_dependency_over_the_limit_is_a_finding() -> None:
    analyzed = AnalyzeResult.from_dict(json.loads(SAVED.read_text()))
    (finding,) = deferrable_audit_findings(analyzed, 100)
    assert (finding.rule, finding.subject, finding.limit) == (RULE_DEFERRABLE, "requests", 100)
    assert finding.measured == 161.993
    assert finding.message == (
        "requests is imported at init but no --event ran its code: 162.0 ms deferrable "
        "(limit 100 ms). Fix: move `import requests` (app.py:4) into lambda_handler()"
    )
    assert deferrable_audit_findings(analyzed, 200) == []
    assert deferrable_audit_findings(replace(analyzed, advisor=None), 0) == []
