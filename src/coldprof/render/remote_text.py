"""A remote result as a terminal table and as markdown."""

from __future__ import annotations

from typing import Any

from coldprof.estimate.model import LambdaEstimate
from coldprof.figures import ms, plural, size
from coldprof.results.remote import FunctionResult, Relation, RemoteResult, TierResult

TIER_HEADERS = (
    "memory",
    "cold",
    "warm",
    "init median",
    "init p90",
    "warm ms",
    "cold penalty",
    "$/M cold",
    "$/M warm",
    "failed",
)
TIER_ALIGN = (
    "right",
    "right",
    "right",
    "right",
    "right",
    "right",
    "right",
    "right",
    "right",
    "left",
)
RELATION_HEADERS = ("relation", "n", "spearman", "slope", "caveat")
RELATION_LABELS = {
    "init_vs_memory": "init vs memory",
    "init_vs_package_size": "init vs package size",
    "cold_penalty_vs_memory": "cold penalty vs memory",
    "cold_penalty_vs_package_size": "cold penalty vs package size",
}


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if value >= 1 else f"{value:.4f}"


def _failed(tier: TierResult) -> str:
    if tier.error:
        return f"tier error: {tier.error}"
    counts: dict[str, int] = {}
    for sample in tier.retried:
        label = f"init {sample.failed_init_status} (retried in the invoke)"
        counts[label] = counts.get(label, 0) + 1
    for failure in tier.failures:
        label = f"{failure.phase} {failure.error_type or 'error'}"
        counts[label] = counts.get(label, 0) + 1
    return "; ".join(f"{n}× {label}" for label, n in counts.items())


def tier_rows(function: FunctionResult) -> list[list[str]]:
    rows = []
    for tier in function.tiers:
        memory = f"{tier.memory_mb} MB"
        if tier.memory_mb == function.recommended_memory_mb:
            memory = f"* {memory}"
        rows.append(
            [
                memory,
                str(len(tier.cold)),
                str(len(tier.warm)),
                ms(tier.init_median_ms),
                ms(tier.init_p90_ms),
                ms(tier.warm_median_ms),
                ms(tier.cold_penalty_ms),
                _usd(tier.cost_cold_usd_per_million),
                _usd(tier.cost_warm_usd_per_million),
                _failed(tier),
            ]
        )
    return rows


def function_headline(function: FunctionResult) -> list[str]:
    package = f"CodeSize {size(function.code_size_bytes)}"
    if function.package_unzipped_bytes is not None:
        package += f", {size(function.package_unzipped_bytes)} unzipped"
    title = (
        f"{function.name} (deployed from {function.source_path})"
        if function.source_path
        else (function.arn or function.name)
    )
    lines = [
        title,
        f"{runtime_label(function)} {function.architecture}  ·  {package}  ·  "
        f"configured with {function.original_memory_mb} MB",
    ]
    if function.environment_names:
        lines.append(f"environment variables (names only): {', '.join(function.environment_names)}")
    if function.restored:
        state = "restored to its original configuration"
    else:
        state = "NOT RESTORED"
    if function.deployed:
        if function.deleted:
            state = "temporary function deleted"
        elif function.deleted is False and function.delete_command is None:
            state = f"temporary function kept ({state})"
        elif function.delete_command:
            state = "temporary function NOT DELETED"
    lines.append(state)
    if function.lambda_estimate:
        lines.append(
            "the emulator's Init Duration is this machine's; "
            + LambdaEstimate.from_dict(function.lambda_estimate).line()
        )
    if function.error:
        lines.append(f"error: {function.error}")
    return lines


def function_footer(function: FunctionResult) -> list[str]:
    lines = []
    if function.recommendation:
        lines.append(f"recommended: {function.recommendation}")
    for tier in function.tiers:
        lines.extend(f"note ({tier.memory_mb} MB): {note}" for note in tier.notes)
        if tier.retried:
            statuses = sorted({s.failed_init_status or "error" for s in tier.retried})
            penalty = (
                f"; cold penalty with the retry {ms(tier.retried_penalty_ms)} ms"
                if tier.retried_penalty_ms is not None
                else ""
            )
            lines.append(
                f"init {'/'.join(statuses)} ({tier.memory_mb} MB): {len(tier.retried)} cold "
                f"start(s) retried init inside the invoke{penalty} (not a normal cold start)"
            )
        first = next((f for f in tier.failures if f.message), None)
        if first is not None:
            lines.append(
                f"first failure ({tier.memory_mb} MB, {first.phase}): "
                f"{first.error_type or 'error'}: {first.message}"
            )
    if function.restore_command:
        lines.append(f"restore it with: {function.restore_command}")
    if function.delete_command:
        lines.append(f"delete it with: {function.delete_command}")
    return lines


def _slope(relation: Relation) -> str:
    if relation.slope is None:
        return "-"
    unit = relation.slope_unit.removeprefix("ms ")
    return f"{relation.slope:+,.1f} ms {unit}"


def _spearman(relation: Relation) -> str:
    return "-" if relation.spearman is None else f"{relation.spearman:+.2f}"


def relation_rows(result: RemoteResult) -> list[list[str]]:
    return [
        [
            RELATION_LABELS.get(name, name),
            str(relation.n),
            _spearman(relation),
            _slope(relation),
            relation.caveat or "",
        ]
        for name, relation in result.correlation.relations()
    ]


def _title(result: RemoteResult) -> str:
    where = "local emulator" if result.local else "AWS"
    if result.runtime_client and result.runtime_client != "awslambdaric":
        where += f", runtime client: {result.runtime_client}"
    tiers = ", ".join(str(m) for m in result.memory_tiers)
    return (
        f"coldprof remote ({where}) · memory {tiers} MB · "
        f"{plural(result.samples, 'cold start')} per tier"
        f" · {result.warm} warm per cold · concurrency {result.concurrency}"
    )


def _correlation_note(result: RemoteResult) -> str:
    measure = (
        "unzipped package size"
        if result.correlation.package_size_measure == "unzipped"
        else "CodeSize (zipped)"
    )
    return (
        f"memory relations compare tiers within each function; package-size relations compare "
        f"functions ({measure}) within each memory tier."
    )


def table(result: RemoteResult, **_options: Any) -> str:
    from tabulate import tabulate

    out = [_title(result), ""]
    for function in result.functions:
        out.extend(function_headline(function))
        out.append("")
        out.append(
            tabulate(
                tier_rows(function),
                headers=TIER_HEADERS,
                tablefmt="simple",
                disable_numparse=True,
                colalign=TIER_ALIGN,
            )
        )
        footer = function_footer(function)
        if footer:
            out.append("")
            out.extend(footer)
        out.append("")
    out.append("correlation")
    out.append(
        tabulate(
            relation_rows(result),
            headers=RELATION_HEADERS,
            tablefmt="simple",
            disable_numparse=True,
        )
    )
    out.append(_correlation_note(result))
    out.append("ms columns are medians; cold penalty = init + first duration − median warm.")
    if any(f.recommended_memory_mb for f in result.functions):
        out.append("* marks the recommended tier.")
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(result: RemoteResult, **_options: Any) -> str:
    from tabulate import tabulate

    out = [f"# {_escape(_title(result))}", ""]
    for function in result.functions:
        out.append(f"## {_escape(function.name)}")
        out.append("")
        out.extend(f"- {_escape(line)}" for line in function_headline(function))
        out.append("")
        rows = [[_escape(cell) for cell in row] for row in tier_rows(function)]
        out.append(
            tabulate(
                rows,
                headers=TIER_HEADERS,
                tablefmt="github",
                disable_numparse=True,
                colalign=TIER_ALIGN,
            )
        )
        footer = function_footer(function)
        if footer:
            out.append("")
            for line in footer:
                if line.startswith(("restore it with: ", "delete it with: ")):
                    label, _, command = line.partition(": ")
                    out.append(f"- {label}:\n\n  ```sh\n  {command}\n  ```")
                else:
                    out.append(f"- {_escape(line)}")
        out.append("")
    out.append("## Correlation")
    out.append("")
    rows = [[_escape(cell) for cell in row] for row in relation_rows(result)]
    out.append(tabulate(rows, headers=RELATION_HEADERS, tablefmt="github", disable_numparse=True))
    out.append("")
    out.append(_escape(_correlation_note(result)))
    out.append("Times are medians in ms; cold penalty = init + first duration − median warm.")
    return "\n".join(out) + "\n"


def summary(result: RemoteResult) -> str:
    """One line for stdout when the report went to --output."""
    count = len(result.functions)
    tiers = len(result.memory_tiers)
    return (
        f"coldprof remote: {count} function{'s' if count != 1 else ''} × {tiers} memory "
        f"tier{'s' if tiers != 1 else ''}" + (" (interrupted)" if result.interrupted else "")
    ) + (
        f" (runtime client: {result.runtime_client})"
        if result.runtime_client and result.runtime_client != "awslambdaric"
        else ""
    )


def runtime_label(function: FunctionResult) -> str:
    """The Runtime, and the Python that really ran it where that is known and differs."""
    runtime = function.runtime or "?"
    if not function.python:
        return runtime
    if f"python{function.python}".startswith(f"{runtime}."):
        return f"{runtime} (Python {function.python})"
    return f"{runtime} (RAN ON Python {function.python}: {runtime} is not installed here)"
