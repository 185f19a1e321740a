"""results.audit: an audit's JSON, written and read back."""

from __future__ import annotations

import json

from coldprof.audit.core import audit
from coldprof.results.audit import AuditResult, Budgets, Finding
from factories import dependency, result

INIT = [100.0, 102.0, 98.0, 101.0, 99.0]


def test_audit_result_round_trips_through_json() -> None:
    before = result([dependency("slowdep", [20.0, 21, 19, 20, 20])], INIT)
    after = result([dependency("slowdep", [80.0, 81, 79, 80, 80])], [160.0, 161, 159, 160, 162])
    audited = audit(after, Budgets(max_init_ms=120), before, baseline_path="b.json")
    data = json.loads(json.dumps(audited.to_dict()))
    assert data["kind"] == "audit" and data["schema_version"] == 1 and data["ok"] is False
    assert AuditResult.from_dict(data).to_dict() == data
    assert data["baseline"]["imports"] == []  # the baseline's tree is not stored twice


def test_an_audit_is_written_with_its_keys_in_order() -> None:
    audited = audit(result([dependency("slowdep", [60.0] * 5)], INIT), Budgets(max_init_ms=80))
    data = audited.to_dict()
    assert list(data) == [
        "schema_version",
        "kind",
        "ok",
        "findings",
        "notes",
        "budgets",
        "config_path",
        "baseline_path",
        "base_ref",
        "base_commit",
        "init",
        "changes",
        "drift",
        "result",
        "baseline",
    ]
    assert list(data["findings"][0]) == list(Finding("r", "s", "m", 1.0).to_dict())
    assert data["result"] == audited.result.to_dict() and data["baseline"] is None
