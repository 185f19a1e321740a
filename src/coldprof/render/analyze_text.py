"""An analyze result as a terminal table and as markdown; the text pieces others reuse."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from coldprof import stats
from coldprof.estimate.model import estimate_of
from coldprof.figures import ms, plural, shorten, shown_path, size
from coldprof.results.analyze import (
    AnalyzeResult,
    DeclaredFunction,
    DependencyCost,
    FunctionLine,
)
from coldprof.results.dependency_kind import DependencyKind

if TYPE_CHECKING:
    from coldprof.results.advisor import AdvisorReport, Verification

DEPENDENCY_HEADERS = (
    "dependency",
    "kind",
    "version",
    "self ms",
    "inclusive ms",
    "modules",
    "unzipped",
    "zipped",
)


def shown_inclusive_ms(dep: DependencyCost) -> float:
    """The inclusive figure a table shows. The function's own modules import everything else,
    so their inclusive time is init itself; shown as theirs it reads as "your code is slow".
    Their row shows their own code's cost instead; the note under the table gives the rest."""
    return dep.self_ms if dep.kind == DependencyKind.FUNCTION else dep.inclusive_ms


def ordered_dependencies(result: AnalyzeResult, top: int | None) -> list[DependencyCost]:
    """The rows a table shows: by the inclusive figure shown, the most costly first."""
    deps = sorted(result.dependencies, key=lambda d: -shown_inclusive_ms(d))
    return deps[:top] if top else deps


def function_note(result: AnalyzeResult) -> str | None:
    """What the (function) row leaves out: the init its imports start."""
    own = next((d for d in result.dependencies if d.kind == DependencyKind.FUNCTION), None)
    if own is None or own.inclusive_ms <= own.self_ms:
        return None
    return (
        f"{own.name}: {ms(own.self_ms)} ms is your modules' own code; with everything they "
        f"import it is {ms(own.inclusive_ms)} ms, which is init itself, not a dependency"
    )


LINES_SHOWN = 5  # a dependency's heaviest module-level lines under its row
_LINE_CELL_WIDTH = 50


def top_lines(
    result: AnalyzeResult, dependency: str, count: int = LINES_SHOWN
) -> list[FunctionLine]:
    """A dependency's heaviest module-level statements (the function's own: ``(function)``)."""
    found = [line for line in result.function_lines if line.dependency == dependency]
    return sorted(found, key=lambda line: -line.self_ms)[:count]


def line_kind(line: FunctionLine) -> str:
    return f"{line.kind} {line.callee}" if line.callee else line.kind


def line_label(line: FunctionLine) -> str:
    return shorten(f"· {line.where} {line.text}", _LINE_CELL_WIDTH)


# The text and markdown tables: the inclusive figure's 95 % interval beside it.
DEPENDENCY_TABLE_HEADERS = (*DEPENDENCY_HEADERS[:5], "95% interval", *DEPENDENCY_HEADERS[5:])
DEPENDENCY_ALIGN = ("left", "left", "left", "right", "right", "right", "right", "right", "right")


def interval(bounds: tuple[float, float] | None) -> str:
    """``58.9 to 61.5``: an interval in ms, at the figures' one decimal."""
    return "" if bounds is None else f"{ms(bounds[0])} to {ms(bounds[1])}"


def dependency_rows(result: AnalyzeResult, top: int | None, lines: int = 0) -> list[list[Any]]:
    """One row per dependency; with ``lines``, its heaviest module-level lines under it."""
    shown = ordered_dependencies(result, top)
    rows: list[list[Any]] = []
    for d in shown:
        rows.append(
            [
                d.name,
                d.kind,
                d.version or "",
                ms(d.self_ms),
                ms(shown_inclusive_ms(d)),
                # The (function) row's inclusive interval would be init's: it shows its own code.
                interval(d.inclusive_ms_ci95) if d.kind != DependencyKind.FUNCTION else "",
                d.modules,
                size(d.unzipped_bytes) if d.unzipped_bytes else "",
                size(d.zipped_bytes) if d.zipped_bytes else "",
            ]
        )
        for line in top_lines(result, d.name, lines) if lines else ():
            rows.append([line_label(line), shorten(line_kind(line), 24), "", ms(line.self_ms)])
            rows[-1] += [""] * 5
    return rows


def trace_note(tracer: str) -> str:
    """How the lines were measured, for every report that shows them."""
    return (
        f"lines: one traced cold start ({tracer or 'no tracer'}), scaled to the timed runs "
        "(imports at their timed import times; the rest of each module to its timed self time)"
    )


def lines_facts(result: AnalyzeResult) -> list[str]:
    """How the lines under the table were measured, or why there are none."""
    if result.function_lines_note:
        return [result.function_lines_note]
    if not result.function_lines:
        return []
    return [
        trace_note(result.function_lines_tracer)
        + f"; {len(result.function_lines)} statements in all in the JSON report"
    ]


def first_invocation_facts(result: AnalyzeResult) -> list[str]:
    """--event: the first invocation against the warm one, and the cold penalty."""
    first = result.first_invocation
    if first is None:
        return []
    if first.error is not None or first.duration_ms is None:
        return [f"first invocation ({first.event}): failed: {first.error or 'not run'}"]
    lines = [
        f"first invocation ({first.event}): {ms(first.duration_ms)} ms, warm "
        f"{ms(first.warm_duration_ms or 0.0)} ms (medians, after each timed init); cold penalty "
        f"{ms(first.cold_penalty_ms or 0.0)} ms (init + first − warm)"
    ]
    if first.imports:
        lines.append(
            "the first invocation imported: "
            + ", ".join(f"{i.name} {ms(i.inclusive_ms)} ms" for i in first.imports[:8])
        )
    return lines


def headline(result: AnalyzeResult) -> list[str]:
    runs = plural(result.runs, "cold start")
    if result.discarded_runs:
        runs += f" (+{result.discarded_runs} not counted: {result.discarded_reason})"
    python = f"Python {result.python}"
    if result.declared_runtime and not f"python{result.python}".startswith(
        result.declared_runtime + "."
    ):
        python += f" (declared: {result.declared_runtime})"
    lines = [f"handler {result.handler}  ·  {python}  ·  {runs}"]
    if result.declared is not None:
        lines.extend(declared_lines(result.declared))
    if result.runtime_client != "awslambdaric":
        lines.append(f"runtime client: {result.runtime_client} (not awslambdaric, see README)")
    if result.failure is not None:
        lines.append(f"init failed ({result.failure.status}): {result.failure.message}")
    elif result.init_ms.samples:
        i = result.init_ms
        lines.append(
            f"init ms: median {ms(i.median)} (95% interval {interval(i.ci95)})  p90 {ms(i.p90)}  "
            f"min {ms(i.min)}  max {ms(i.max)}"
        )
        on_lambda = estimate_of(result)
        if on_lambda is not None:
            lines.append(on_lambda.line())
    if result.runs_stopped_by:
        lines.append(f"--runs auto: {result.runs_stopped_by}")
    p = result.package
    if p.bytecode_penalty_ms is None:
        penalty = "penalty not measured"
    else:
        count = p.bytecode_penalty_runs
        runs = f" over {count} run{'' if count == 1 else 's'}" if count else ""
        bounds = p.bytecode_penalty_ci95
        over = f", 95% interval {interval(bounds)}{runs}" if bounds else runs
        penalty = f"{ms(p.bytecode_penalty_ms)} ms more without it{over}"
        if p.bytecode_penalty_within_noise:
            # An interval that holds 0, often around a negative estimate: say so first.
            none = "no measurable saving" if p.has_bytecode else "no measurable cost"
            penalty = f"{none}: {ms(p.bytecode_penalty_ms)} ms{over}; the interval holds 0"
    lines.append(
        f"package: {size(p.unzipped_bytes)} unzipped, {size(p.zipped_bytes)} zipped, "
        f"{p.files} file{'' if p.files == 1 else 's'}"
        + (f", built with {result.installer}" if result.installer else "")
        + f"; bytecode {'shipped' if p.has_bytecode else 'NOT shipped'} ({penalty})"
    )
    lines.extend(f"warning: {w}" for w in p.warnings)
    lines.extend(
        f"coldprof bug: attribution inconsistent: {problem}"
        for problem in result.attribution_problems
    )
    lines.extend(environment_lines(result))
    return lines


def environment_lines(result: AnalyzeResult) -> list[str]:
    """Where the cold starts ran: filesystem, page cache, runtime SDK, and the notes."""
    if not result.interpreter:
        return []  # a result saved before coldprof recorded these
    where = {
        "lambda": "Lambda's (/var/task read-only, layers at /opt, an empty /tmp each)",
        "copy": "a read-only copy, not Lambda's (a note says why)",
        "host": "the folders as they are",
    }.get(result.filesystem, result.filesystem)
    cache = f"page cache {result.page_cache}"
    read = [b for b in result.run_disk_read_bytes if b is not None]
    if result.page_cache == "cold" and read:
        cache += f" (read from disk: median {size(round(stats.median(read)))} per cold start)"
    lines = [f"filesystem: {where}; {cache}"]
    if result.runtime_sdk:
        lines.append(f"runtime: {result.runtime_sdk}")
    lines.extend(f"note: {n}" for n in result.notes)
    return lines


def declared_lines(d: DeclaredFunction) -> list[str]:
    """What the template declares: the function, its configuration, what is stood in for."""
    declared = [
        d.runtime,
        d.architecture,
        f"{d.memory_mb} MB" if d.memory_mb is not None else None,
        f"timeout {d.timeout_s:g} s" if d.timeout_s is not None else None,
    ]
    said = ", ".join(x for x in declared if x) or "nothing about runtime or memory"
    lines = [f"function {d.logical_id} in {Path(d.template).name}  ·  declared: {said}"]
    if d.local_layers:
        lines.append(f"layers built from the project: {', '.join(d.local_layers)}")
    if d.arn_layers:
        lines.append(
            f"layers by ARN, not fetched and not measured: {', '.join(d.arn_layers)} "
            "(give their content with --layer DIR)"
        )
    if d.stand_ins:
        lines.append(
            "stand-in values (not known offline; --env or --parameter sets them): "
            + "; ".join(f"{variable}: {reason}" for variable, _, reason in d.stand_ins)
        )
    lines.extend(f"note: {note}" for note in d.notes)
    return lines


def table(result: AnalyzeResult, top: int | None = 15, **_options: Any) -> str:
    from tabulate import tabulate

    rows = dependency_rows(result, top, LINES_SHOWN)
    body: str = tabulate(
        rows,
        headers=DEPENDENCY_TABLE_HEADERS,
        tablefmt="simple",
        disable_numparse=True,
        colalign=DEPENDENCY_ALIGN,
    )
    out = "\n".join([*headline(result), *first_invocation_facts(result)]) + "\n\n" + body + "\n"
    shown = len(result.dependencies[:top] if top else result.dependencies)
    hidden = len(result.dependencies) - shown
    if hidden > 0:
        out += f"({hidden} more; --top 0 shows all)\n"
    out += "".join(f"{line}\n" for line in lines_facts(result))
    if note := function_note(result):
        out += f"{note}\n"
    if result.advisor is not None:
        out += "\n" + "\n".join(advisor_section(result, markdown=False)) + "\n"
    return out


def markdown_table(rows: list[list[Any]], headers: tuple[str, ...], align: tuple[str, ...]) -> str:
    """A GitHub table whose numeric columns are right-aligned (``---:``)."""
    from tabulate import tabulate

    return str(
        tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True, colalign=align)
    )


def escape_markdown(text: str) -> str:
    """Keep names like (stdlib) and <module> literal in GitHub markdown."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(result: AnalyzeResult, top: int | None = None, **_options: Any) -> str:
    lines = [f"## coldprof analyze `{shown_path(result.function_path)}`", ""]
    facts = [*headline(result), *first_invocation_facts(result)]
    lines += [f"- {escape_markdown(line)}" for line in facts]
    rows = [
        [escape_markdown(str(cell)) for cell in row]
        for row in dependency_rows(result, top, LINES_SHOWN)
    ]
    if rows:
        lines += ["", markdown_table(rows, DEPENDENCY_TABLE_HEADERS, DEPENDENCY_ALIGN)]
    lines.append("")
    lines += [f"{escape_markdown(line)}\n" for line in lines_facts(result)]
    if note := function_note(result):
        lines += [escape_markdown(note), ""]
    if result.advisor is not None:
        lines += [*advisor_section(result, markdown=True), ""]
    return "\n".join(lines)


# -- the lazy-import advisor (coldprof analyze --event/--verify) ------------------------------
ADVISOR_HEADERS = ("deferrable", "saving ms", "pulls in", "imported at")


def advisor_title(report: AdvisorReport) -> str:
    events = len(report.events)
    traced = f"{events} event{'s' if events != 1 else ''}" if events else "no events"
    return f"Lazy-import advisor: {traced}, traced with {report.tracer or 'nothing'}"


def advisor_rows(report: AdvisorReport) -> list[list[str]]:
    return [
        [
            d.name,
            ms(d.saving_ms),
            ", ".join(d.pulls),
            ", ".join(s.where for s in d.sites) or "(not in your code)",
        ]
        for d in report.deferrable
    ]


def advisor_events(report: AdvisorReport) -> list[str]:
    lines = []
    for run in report.events:
        state = "ok" if run.ok else f"FAILED ({run.describe()})"
        used = ", ".join(run.used) or "none of the dependencies"
        lines.append(f"{run.event}: {state}, {ms(run.duration_ms)} ms; ran {used}")
    return lines


def advisor_summary(report: AdvisorReport) -> str:
    if not report.deferrable:
        return "deferrable: nothing; what your code imports at init is used or needed (see kept)"
    return (
        f"deferrable: {ms(report.total_saving_ms)} ms of init that no event used "
        "(what each pulls in counted once)"
    )


def advisor_facts(report: AdvisorReport) -> list[str]:
    """Everything after the findings table: fixes, what stays, the proof, side effects."""
    lines = [f"fix {d.name}: {d.fix}" for d in report.deferrable]
    lines += [f"first invocation: {f.describe()}" for f in report.first_call]
    if report.kept:
        lines.append("kept at init: " + "; ".join(f"{k.name} ({k.reason})" for k in report.kept))
    if report.verification is not None:
        lines += _verification_lines(report.verification)
    effects = report.side_effects
    lines.append(
        f"init side effects: {effects.file_opens} file opens "
        f"({effects.module_file_opens} by imports"
        + (f"; others: {', '.join(effects.other_files[:3])}" if effects.other_files else "")
        + f"); network: {', '.join([*effects.network, *effects.dns]) or 'none'}; "
        f"subprocesses: {', '.join(effects.subprocesses) or 'none'}"
    )
    lines += [f"warning: {finding}" for finding in effects.findings]
    lines += [f"note: {note}" for note in report.notes]
    return lines


def _verification_lines(v: Verification) -> list[str]:
    if v.measured_ms is None:
        return [f"verify: {v.note or 'not measured'}"] + [f"verify skipped {s}" for s in v.skipped]
    ratio = f", {v.ratio:.0%} of predicted" if v.ratio is not None else ""
    lines = [
        f"verify: predicted {ms(v.predicted_ms)} ms, measured {ms(v.measured_ms)} ms{ratio} "
        f"(init median {ms(v.original_init_ms)} → {ms(v.rewritten_init_ms)} ms: the original "
        f"and a rewritten copy, {plural(v.runs, 'cold start')} each, interleaved; the prediction "
        "is from the original's import times in those same runs)",
        f"verify deferred {', '.join(v.deferred)}: {'; '.join(v.rewrites)}",
        f"verify behaviour: {v.behaviour}",
    ]
    if v.still_imported:
        lines.append(f"verify: still imported at init: {', '.join(v.still_imported)}")
    lines += [f"verify skipped {s}" for s in v.skipped]
    return lines


def advisor_section(result: AnalyzeResult, markdown: bool) -> list[str]:
    """The advisor's findings after the dependency table: what to defer, proof, side effects."""
    report = result.advisor
    if report is None:
        return []
    from tabulate import tabulate

    text = escape_markdown if markdown else str
    bullet = "- " if markdown else "  "
    title = advisor_title(report)
    lines = [f"### {title}", ""] if markdown else [title]
    lines += [text(f"{bullet}{line}") for line in advisor_events(report)]
    lines += ["", text(advisor_summary(report))]
    if report.deferrable:
        rows = [[text(cell) for cell in row] for row in advisor_rows(report)]
        lines += [
            "",
            tabulate(
                rows,
                headers=ADVISOR_HEADERS,
                tablefmt="pipe" if markdown else "simple",
                disable_numparse=True,
                colalign=("left", "right", "left", "left"),
            ),
        ]
    lines.append("")
    lines += [text(f"{bullet}{line}") for line in advisor_facts(report)]
    return lines


def summary(result: AnalyzeResult) -> str:
    name = f"coldprof analyze {shown_path(result.function_path)}"
    if result.failure is not None:
        return f"{name}: init failed ({result.failure.status})" + runtime_client_note(
            result.runtime_client
        )
    return (
        f"{name}: init median "
        f"{init_with_interval(result)} over {plural(result.runs, 'cold start')}"
        + runtime_client_note(result.runtime_client)
    )


def runtime_client_note(client: str | None) -> str:
    """`` (runtime client: coldprof's stand-in)`` when awslambdaric did not run the handler."""
    return f" (runtime client: {client})" if client and client != "awslambdaric" else ""


def init_with_interval(result: AnalyzeResult) -> str:
    """``123.4 ms [120.1, 130.2]``: the median and its 95 % interval."""
    i = result.init_ms
    interval = f" [{ms(i.ci95[0])}, {ms(i.ci95[1])}]" if i.ci95 else ""
    return f"{ms(i.median)} ms{interval}"
