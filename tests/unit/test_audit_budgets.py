"""audit.budgets: init, per-dependency and package budgets, each finding naming its culprit."""

from __future__ import annotations

from coldprof.audit.core import audit
from coldprof.results.audit import AuditResult, Budgets
from factories import dependency, result

INIT = [100.0, 102.0, 98.0, 101.0, 99.0]


def rules(audited: AuditResult) -> list[tuple[str, str]]:
    return [(f.rule, f.subject) for f in audited.findings]


def test_init_budget_names_the_heaviest_imports() -> None:
    run = result([dependency("slowdep", [60.0] * 5)], INIT)
    audited = audit(run, Budgets(max_init_ms=80))
    assert rules(audited) == [("max-init-ms", "init")]
    finding = audited.findings[0]
    assert finding.measured == 100.0 and finding.limit == 80
    assert "slowdep 60.0 ms" in finding.message
    assert audit(run, Budgets(max_init_ms=150)).ok


def test_dependency_budget_holds_only_what_the_function_imports() -> None:
    run = result([dependency("slowdep", [60.0] * 5), dependency("small", [3.0] * 5)], INIT)
    audited = audit(run, Budgets(max_dependency_ms=10))
    # awslambdaric (20 ms inclusive) is loaded by the runtime for every function: not a finding.
    assert rules(audited) == [("max-dependency-ms", "slowdep")]
    assert "slowdep 1.0 costs 60.0 ms" in audited.findings[0].message


def test_package_budget_is_zipped_megabytes_and_names_the_largest() -> None:
    big = dependency("bigdep", [1.0] * 5, zipped=30 * 2**20, unzipped=90 * 2**20)
    audited = audit(result([big], INIT), Budgets(max_package_mb=25))
    assert rules(audited) == [("max-package-mb", "package")]
    assert "bigdep 30.0 MiB" in audited.findings[0].message
    assert audit(result([big], INIT), Budgets(max_package_mb=31)).ok


def test_no_budget_no_baseline_is_clean_and_says_so() -> None:
    audited = audit(result([dependency("slowdep", [60.0] * 5)], INIT), Budgets())
    assert audited.ok
    assert any("nothing to hold" in note for note in audited.notes)
