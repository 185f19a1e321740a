"""Regressions against a baseline as findings that name their culprit, and what improved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from coldprof.audit.noise import SIGNIFICANCE
from coldprof.audit.text import MB, mb, ms, signed_mb, signed_ms
from coldprof.results.analyze import AnalyzeResult
from coldprof.results.audit import Budgets, Delta, DependencyChange, Finding

RULE_NEW_DEPENDENCY = "new-dependency"
RULE_DEPENDENCY_REGRESSION = "dependency-regression"
RULE_INIT_REGRESSION = "init-regression"
RULE_PACKAGE_REGRESSION = "package-regression"
# Below this a percentage of a tiny package is meaningless.
MIN_PACKAGE_GROWTH_BYTES = 256 * 1024


def _describe_growth(change: DependencyChange) -> str:
    s, i = change.self_ms, change.inclusive_ms
    parts = [
        f"self {ms(s.before)} → {ms(s.after)} ({signed_ms(s.change)}"
        + (f", {s.pct:+.0f}%" if s.pct is not None else "")
        + ")",
        f"inclusive {ms(i.before)} → {ms(i.after)} ({signed_ms(i.change)})",
    ]
    if change.unzipped_change:
        parts.append(
            f"{mb(change.unzipped_bytes_before)} → {mb(change.unzipped_bytes_after)} unzipped "
            f"({signed_mb(change.unzipped_change)})"
        )
    if change.modules_after != change.modules_before:
        parts.append(f"modules {change.modules_before} → {change.modules_after}")
    if change.version_before != change.version_after and change.version_after:
        parts.append(f"version {change.version_before or '?'} → {change.version_after}")
    return ", ".join(parts)


def _noise_words(delta: Delta, budgets: Budgets) -> str:
    pct = f"{budgets.max_regression_pct:g}%"
    if delta.ci95 is not None and delta.paired_ms is not None:
        low, high = delta.ci95
        return (
            f"run by run against the base {signed_ms(delta.paired_ms)} "
            f"(95% interval {signed_ms(low)} to {signed_ms(high)}), the pairs agreeing "
            f"(sign test, p ≤ {SIGNIFICANCE:g}) and past the {ms(delta.threshold_ms)} floor "
            f"and {pct}"
        )
    if delta.noise_judged:
        p = delta.p_value or 0.0
        chance = "p<0.001" if p < 0.001 else f"p={p:.2g}"
        return f"past the noise (±{ms(delta.threshold_ms)}, {chance}) and {pct}"
    return f"past the {ms(delta.threshold_ms)} floor and {pct} (no samples to judge noise)"


def regression_findings(
    baseline: AnalyzeResult,
    result: AnalyzeResult,
    budgets: Budgets,
    init: Delta,
    changes: Sequence[DependencyChange],
) -> list[Finding]:
    findings = []
    if init.verdict == "grew":
        movers = sorted(
            (c for c in changes if c.self_ms.change > 0), key=lambda c: -c.self_ms.change
        )[:3]
        named = ", ".join(
            f"{c.name} {signed_ms(c.self_ms.change)}" + (" (new)" if c.status == "new" else "")
            for c in movers
        )
        findings.append(
            Finding(
                RULE_INIT_REGRESSION,
                "init",
                f"init grew {ms(init.before)} → {ms(init.after)} ({signed_ms(init.change)}"
                + (f", {init.pct:+.0f}%" if init.pct is not None else "")
                + f"), {_noise_words(init, budgets)}"
                + (f"; the most self time: {named}" if named else ""),
                init.after,
                init.threshold_ms,
                init.before,
            )
        )
    culprits = []
    # A new dependency that came with another new one is listed under it: the cause, not
    # each consequence (numpy under pandas).
    consequences: dict[str, list[DependencyChange]] = defaultdict(list)
    for change in changes:
        if change.pulled_in_by is not None:
            consequences[change.pulled_in_by].append(change)
    for change in changes:
        if change.status == "new" and change.pulled_in_by is not None:
            continue
        if change.status == "new" and change.inclusive_ms.verdict == "grew":
            version = f" {change.version_after}" if change.version_after else ""
            weight = (
                f", {mb(change.unzipped_bytes_after)} unzipped"
                if change.unzipped_bytes_after
                else ""
            )
            came = sorted(consequences.get(change.name, ()), key=lambda c: -c.inclusive_ms.after)
            brought = ", ".join(
                f"{c.name}"
                + (f" {c.version_after}" if c.version_after else "")
                + f" ({ms(c.inclusive_ms.after)} inclusive)"
                for c in came
            )
            culprits.append(
                Finding(
                    RULE_NEW_DEPENDENCY,
                    change.name,
                    f"{change.name}{version} is new at init: {ms(change.inclusive_ms.after)} "
                    f"inclusive (self {ms(change.self_ms.after)}, {change.modules_after} "
                    f"modules{weight})"
                    + (f"; it brings in, new too: {brought}" if brought else ""),
                    change.inclusive_ms.after,
                    change.inclusive_ms.threshold_ms,
                    0.0,
                    pulled_in=tuple(c.name for c in came),
                )
            )
        elif change.status == "grew":
            culprits.append(
                Finding(
                    RULE_DEPENDENCY_REGRESSION,
                    change.name,
                    f"{change.name} grew: {_describe_growth(change)}; "
                    f"{_noise_words(change.self_ms, budgets)}",
                    change.self_ms.after,
                    change.self_ms.threshold_ms,
                    change.self_ms.before,
                )
            )
    culprits.sort(key=lambda f: -(f.measured - (f.baseline or 0.0)))
    findings += culprits
    old_zip, new_zip = baseline.package.zipped_bytes, result.package.zipped_bytes
    growth = new_zip - old_zip
    if (
        old_zip > 0
        and growth > MIN_PACKAGE_GROWTH_BYTES
        and growth / old_zip * 100 > budgets.max_regression_pct
    ):
        # A dependency new at init may have been in the package before, imported later: say so
        # rather than count all of it as growth.
        grown = sorted(
            (c for c in changes if c.zipped_bytes_after > c.zipped_bytes_before),
            key=lambda c: -(c.zipped_bytes_after - c.zipped_bytes_before),
        )[:3]
        named = ", ".join(
            f"{c.name} {mb(c.zipped_bytes_after)} (new at init)"
            if c.status == "new"
            else f"{c.name} {signed_mb(c.zipped_bytes_after - c.zipped_bytes_before)}"
            for c in grown
        )
        findings.append(
            Finding(
                RULE_PACKAGE_REGRESSION,
                "package",
                f"the package grew {mb(old_zip)} → {mb(new_zip)} zipped "
                f"({signed_mb(growth)}, {growth / old_zip * 100:+.0f}%)"
                + (f"; the most: {named}" if named else ""),
                round(new_zip / MB, 3),
                None,
                round(old_zip / MB, 3),
                unit="MB",
            )
        )
    return findings


def improvement_notes(init: Delta, changes: Sequence[DependencyChange]) -> list[str]:
    notes = []
    if init.verdict == "shrank":
        notes.append(
            f"init improved {ms(init.before)} → {ms(init.after)} ({signed_ms(init.change)})"
        )
    elif init.verdict == "same" and init.ci95 is not None:
        notes.append(
            f"init {ms(init.before)} → {ms(init.after)}: run by run {signed_ms(init.change)} "
            f"(95% interval {signed_ms(init.ci95[0])} to {signed_ms(init.ci95[1])}), not a "
            f"change past the {ms(init.threshold_ms)} floor and the percentage"
        )
    elif init.verdict == "same" and init.change > 0:
        notes.append(
            f"init {ms(init.before)} → {ms(init.after)} ({signed_ms(init.change)}) is within "
            f"the noise (±{ms(init.threshold_ms)}) or under the percentage"
        )
    for change in changes:
        if change.status == "removed" and change.inclusive_ms.before > 0:
            notes.append(
                f"{change.name} is no longer imported at init "
                f"(it cost {ms(change.inclusive_ms.before)} inclusive)"
            )
        elif change.status == "shrank":
            notes.append(
                f"{change.name} shrank: self {ms(change.self_ms.before)} → "
                f"{ms(change.self_ms.after)} ({signed_ms(change.self_ms.change)})"
            )
        elif change.status == "same" and change.inclusive_ms.verdict == "grew":
            notes.append(
                f"{change.name}: inclusive {ms(change.inclusive_ms.before)} → "
                f"{ms(change.inclusive_ms.after)}, from what it imports (its own time held)"
            )
        elif (
            change.status == "new"
            and change.inclusive_ms.verdict != "grew"
            and change.pulled_in_by is None  # already listed under the finding that brought it
        ):
            notes.append(
                f"{change.name} is new at init but costs only {ms(change.inclusive_ms.after)}"
            )
    return notes
