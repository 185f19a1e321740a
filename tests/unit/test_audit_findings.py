"""audit.findings: regressions against a baseline that name the culprit, and what improved."""

from __future__ import annotations

from dataclasses import replace

from coldprof.audit.core import audit
from coldprof.results.analyze import ImportTreeNode
from coldprof.results.audit import AuditResult, Budgets
from factories import dependency, result

INIT = [100.0, 102.0, 98.0, 101.0, 99.0]


def rules(audited: AuditResult) -> list[tuple[str, str]]:
    return [(f.rule, f.subject) for f in audited.findings]


def test_a_regression_names_the_culprit_with_self_inclusive_and_bytes() -> None:
    before = result([dependency("slowdep", [20.0, 21, 19, 20, 20], unzipped=2**20)], INIT)
    grown = dependency(
        "slowdep", [80.0, 81, 79, 80, 80], [95.0, 96, 94, 95, 95], unzipped=3 * 2**20
    )
    grown = type(grown)(**{**grown.__dict__, "version": "2.0"})
    after = result([grown], [160.0, 161, 159, 160, 162])
    audited = audit(after, Budgets(), before)
    assert ("dependency-regression", "slowdep") in rules(audited)
    assert ("init-regression", "init") in rules(audited)
    finding = next(f for f in audited.findings if f.subject == "slowdep")
    assert finding.baseline == 20.0 and finding.measured == 80.0
    for words in ("self 20.0 ms → 80.0 ms", "+60.0 ms", "inclusive 20.0 ms → 95.0 ms", "+2.0 MiB"):
        assert words in finding.message, finding.message
    assert "version 1.0 → 2.0" in finding.message
    init = next(f for f in audited.findings if f.rule == "init-regression")
    assert "slowdep +60.0 ms" in init.message  # the init finding points at the culprit too


def test_a_new_dependency_is_named() -> None:
    before = result([dependency("slowdep", [20.0] * 5)], INIT)
    after = result(
        [dependency("slowdep", [20.0] * 5), dependency("newdep", [40.0, 41, 39, 40, 40])],
        [140.0, 141, 139, 140, 142],
    )
    audited = audit(after, Budgets(), before)
    assert ("new-dependency", "newdep") in rules(audited)
    finding = next(f for f in audited.findings if f.rule == "new-dependency")
    assert "newdep 1.0 is new at init: 40.0 ms inclusive" in finding.message
    assert ("dependency-regression", "slowdep") not in rules(audited)


def _node(module: str, dep: str, ms: float, *children: ImportTreeNode) -> ImportTreeNode:
    return ImportTreeNode(module, dep, ms, ms + sum(c.cumulative_ms for c in children), children)


def test_a_new_dependency_that_came_with_another_is_listed_under_it() -> None:
    # pandas imports numpy, which imports a (stdlib) helper that imports numlib: a chain of
    # consequences of one change. directdep is new too, but the function imports it itself.
    deps = [
        dependency("pandas", [50.0] * 5, [100.0] * 5),
        dependency("numpy", [40.0] * 5, [50.0] * 5),
        dependency("numlib", [10.0] * 5),
        dependency("tinylib", [0.5] * 5),  # too cheap for a finding of its own
        dependency("directdep", [30.0] * 5),
    ]
    before = result([], INIT)
    after = replace(
        result(deps, [200.0, 201, 199, 200, 202]),
        imports=(
            _node(
                "lambda_function",
                "(function)",
                1.0,
                _node(
                    "pandas",
                    "pandas",
                    50.0,
                    _node(
                        "numpy",
                        "numpy",
                        40.0,
                        _node("importlib.util", "(stdlib)", 1.0, _node("numlib", "numlib", 10.0)),
                    ),
                    _node("tinylib", "tinylib", 0.5),
                ),
                _node("directdep", "directdep", 30.0),
            ),
        ),
    )
    audited = audit(after, Budgets(), before)
    new = {f.subject: f for f in audited.findings if f.rule == "new-dependency"}
    assert set(new) == {"pandas", "directdep"}
    assert new["pandas"].pulled_in == ("numpy", "numlib", "tinylib")  # heaviest first
    assert "it brings in, new too: numpy 1.0 (50.0 ms inclusive), numlib 1.0" in (
        new["pandas"].message
    )
    assert new["directdep"].pulled_in == ()
    by_name = {c.name: c for c in audited.changes}
    assert by_name["numpy"].pulled_in_by == "pandas"
    assert by_name["numlib"].pulled_in_by == "pandas"
    assert by_name["directdep"].pulled_in_by is None
    assert not any("tinylib" in note for note in audited.notes)  # listed once, under pandas
    assert AuditResult.from_dict(audited.to_dict()) == audited


def test_a_new_dependency_also_imported_directly_stands_on_its_own() -> None:
    deps = [dependency("pandas", [50.0] * 5, [90.0] * 5), dependency("numpy", [40.0] * 5)]
    after = replace(
        result(deps, [200.0, 201, 199, 200, 202]),
        imports=(
            _node(
                "lambda_function",
                "(function)",
                1.0,
                _node("pandas", "pandas", 50.0, _node("numpy", "numpy", 40.0)),
                _node("numpy.linalg", "numpy", 5.0),  # first imported by the function itself
            ),
        ),
    )
    audited = audit(after, Budgets(), result([], INIT))
    assert {f.subject for f in audited.findings if f.rule == "new-dependency"} == {
        "pandas",
        "numpy",
    }


def test_removed_and_faster_dependencies_are_notes_not_findings() -> None:
    before = result([dependency("slowdep", [60.0] * 5), dependency("gone", [30.0] * 5)], INIT)
    after = result([dependency("slowdep", [20.0] * 5)], [50.0, 51, 49, 50, 50])
    audited = audit(after, Budgets(), before)
    assert audited.ok
    notes = " | ".join(audited.notes)
    assert "gone is no longer imported at init" in notes
    assert "slowdep shrank" in notes
    assert "init improved" in notes
