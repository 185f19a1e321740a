"""The `coldprof audit` command: analyze, then hold the result to budgets and a baseline."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coldprof.cli.app import (
    BuildOption,
    EnvOption,
    FollowSymlinksOption,
    FormatOption,
    FunctionOption,
    HandlerOption,
    InitLimitOption,
    InstallerOption,
    LayerOption,
    MaxRunsOption,
    OutputOption,
    ParameterOption,
    PathArgument,
    QuietOption,
    app,
    emit,
    fail,
    installer_setting,
    make_progress,
    output_format,
    parse_env,
    parse_runs,
    project_to_run,
    report_event_failures,
    report_init_failure,
)
from coldprof.errors import EXIT_FINDINGS, ColdprofError, FunctionInitError, UsageError
from coldprof.render import OutputFormat

if TYPE_CHECKING:
    from collections.abc import Callable

    from coldprof.audit.project import FunctionPolicy
    from coldprof.config import Config
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.project import Project
    from coldprof.results.analyze import AnalyzeResult


def load_baseline(path: Path, function: str | None = None) -> AnalyzeResult:
    """A saved analyze result, the analyzed run inside a saved audit, or one function's run
    in a saved project result."""
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.audit import AuditResult
    from coldprof.results.load import load_result

    if not path.exists():
        raise UsageError(
            f"--baseline {path}: no such file",
            hint="write one with `coldprof audit PATH --baseline FILE --update-baseline` "
            "or `coldprof analyze PATH --format json --output FILE`",
        )
    saved = load_result(path)
    if isinstance(saved, AuditResult):
        return saved.result
    if saved.kind in ("project", "project_audit") and function is not None:
        runs = load_project_baseline(path)
        if function not in runs:
            raise UsageError(f"--baseline {path}: holds no run of {function}")
        return runs[function]
    if not isinstance(saved, AnalyzeResult):
        raise UsageError(f"--baseline {path}: a {saved.kind} result, not an analyze result")
    return saved


def write_baseline(path: Path, result: Any) -> None:
    """Replace the baseline in one step, so a failed write never leaves half a file."""
    import tempfile

    from coldprof.render.result_json import render as render_json

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w") as stream:
            stream.write(render_json(result))
        os.replace(temp, path)
    except OSError as e:
        raise UsageError(f"--baseline {path}: cannot be written ({e.strerror or e})") from e


@app.command()
def audit(
    path: PathArgument,
    handler: HandlerOption = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="A git ref (origin/main, a tag, HEAD): build the function as it was there "
            "beside this one, run their cold starts interleaved, and judge the change pair by "
            "pair. Your checkout is not touched.",
            show_default=False,
        ),
    ] = None,
    function: FunctionOption = None,
    parameter: ParameterOption = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="A saved analyze JSON to compare with (default: `baseline` in [tool.coldprof]).",
            envvar="COLDPROF_BASELINE",
        ),
    ] = None,
    update_baseline: Annotated[
        bool,
        typer.Option(
            "--update-baseline", help="Write this run to --baseline instead of comparing with it."
        ),
    ] = False,
    max_init_ms: Annotated[
        float | None,
        typer.Option(min=0, help="Budget: median init, in ms.", show_default=False),
    ] = None,
    max_dependency_ms: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Budget: inclusive ms of any one dependency the function imports.",
            show_default=False,
        ),
    ] = None,
    max_package_mb: Annotated[
        float | None,
        typer.Option(min=0, help="Budget: the zipped package, in MB.", show_default=False),
    ] = None,
    max_regression_pct: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Against the baseline: a change must exceed this percent to count [default: 10].",
            show_default=False,
        ),
    ] = None,
    min_regression_ms: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Against the baseline: and this many ms, or the runs' noise if larger "
            "[default: 5].",
            show_default=False,
        ),
    ] = None,
    runs: Annotated[
        str | None,
        typer.Option(
            metavar="INTEGER|auto",
            help="Cold starts to measure (pairs with --base), or 'auto': until the 95% interval "
            "is within ±5% (of the init median; with --base, of the base's init), or "
            "--max-runs [default: 10].",
            show_default=False,
        ),
    ] = None,
    max_runs: MaxRunsOption = 30,
    build: BuildOption = True,
    layer: LayerOption = None,
    env: EnvOption = None,
    follow_symlinks: FollowSymlinksOption = False,
    installer: InstallerOption = None,
    bytecode_runs: Annotated[
        int,
        typer.Option(min=0, help="Cold starts to measure the no-bytecode penalty (0 skips it)."),
    ] = 0,
    init_limit: InitLimitOption = 10.0,
    top: Annotated[int, typer.Option(min=0, help="Dependencies to show in tables (0: all).")] = 15,
    event: Annotated[
        list[Path] | None,
        typer.Option(
            "--event",
            help="A JSON event to invoke the handler with after a traced init; repeatable "
            "(for --fail-on-deferrable-ms).",
        ),
    ] = None,
    fail_on_deferrable_ms: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Finding: a dependency init imports that no --event used, and that would "
            "save at least this many ms deferred (the lazy-import advisor).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Check a function against budgets and a baseline before merging: exit 1 on findings.

    Exit codes: 0 clean, 1 findings, 2 usage (an incomparable baseline too), 3 the function
    or its environment failed. Budgets can live in [tool.coldprof] of the nearest
    pyproject.toml, a project's per function in [tool.coldprof.functions.<logical id>];
    flags win. On a project, every function is audited and the worst exit code wins.
    """
    import platform
    import sys

    from coldprof import config as config_module
    from coldprof.audit.baseline import check_comparable
    from coldprof.audit.core import audit as run_audit
    from coldprof.measure.analyze import AnalyzeRequest, planned_python
    from coldprof.measure.analyze import analyze as run_analyze
    from coldprof.project import parse_parameters
    from coldprof.results.audit import DEFAULT_MIN_REGRESSION_MS, DEFAULT_REGRESSION_PCT, Budgets

    def budgets_of(config: config_module.Config) -> Budgets:
        pick = config_module.pick
        return Budgets(
            max_init_ms=pick(max_init_ms, config, "max-init-ms"),
            max_dependency_ms=pick(max_dependency_ms, config, "max-dependency-ms"),
            max_package_mb=pick(max_package_mb, config, "max-package-mb"),
            max_regression_pct=float(
                pick(max_regression_pct, config, "max-regression-pct", DEFAULT_REGRESSION_PCT)
            ),
            min_regression_ms=float(
                pick(min_regression_ms, config, "min-regression-ms", DEFAULT_MIN_REGRESSION_MS)
            ),
        )

    try:
        chosen = output_format(fmt, output)
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
        config = config_module.load(path)
        if not quiet:
            for warning in config.warnings:
                typer.echo(f"coldprof: warning: {warning}", err=True)
        functions = list(dict.fromkeys(function or ()))
        parameters = parse_parameters(parameter)
        if len(functions) == 1:
            config = config.for_function(functions[0])
        pick = config_module.pick
        budgets = budgets_of(config)
        fail_on_deferrable_ms = pick(fail_on_deferrable_ms, config, "fail-on-deferrable-ms")
        baseline_path = baseline or config.path_setting("baseline")
        if base is not None and (baseline is not None or update_baseline):
            raise UsageError("--base and --baseline are two ways to compare: pick one")
        if base is not None:
            baseline_path = None  # a `baseline` in pyproject gives way to --base
        count, auto = parse_runs(pick(runs, config, "runs", "10"))
        if update_baseline and baseline_path is None:
            raise UsageError("--update-baseline needs --baseline FILE (or `baseline` in pyproject)")
        project = None
        if handler is None and len(functions) != 1:
            project = project_to_run(path, parameters, functions)
        if project is not None and base is not None:
            raise UsageError(
                f"--base audits one function at a time: {path} holds "
                f"{len(project.functions)} functions",
                hint="pick one with --function ID",
            )
        if project is not None:
            from coldprof.audit.project import FunctionPolicy

            baselines = (
                load_project_baseline(baseline_path)
                if baseline_path is not None and not update_baseline
                else {}
            )

            def policy_for(logical_id: str) -> FunctionPolicy:
                own = config.for_function(logical_id)
                return FunctionPolicy(
                    budgets_of(own),
                    baselines.get(logical_id),
                    pick(fail_on_deferrable_ms, own, "fail-on-deferrable-ms"),
                )

            request = AnalyzeRequest(
                path=path,
                parameters=parameters,
                runs=count,
                auto_runs=auto,
                max_runs=max_runs,
                build=build,
                layers=tuple(layer or ()),
                env=parse_env(env),
                bytecode_runs=bytecode_runs,
                init_limit_s=init_limit,
                events=tuple(event or ()),
                installer=installer_setting(installer, path),
            )
            audit_all(
                project,
                request,
                policy_for,
                functions,
                baseline_path,
                update_baseline,
                config,
                fmt,
                output,
                top,
                quiet,
            )
            return
        previous = None
        if baseline_path is not None and not update_baseline:
            previous = load_baseline(baseline_path, functions[0] if functions else None)
        request = AnalyzeRequest(
            path=path,
            handler=handler or (None if functions else config.get("handler")),
            function=functions[0] if functions else None,
            parameters=parameters,
            runs=count,
            auto_runs=auto,
            max_runs=max_runs,
            build=build,
            layers=tuple(layer or ()),
            env=parse_env(env),
            bytecode_runs=bytecode_runs,
            init_limit_s=init_limit,
            events=tuple(event or ()),
            follow_symlinks=follow_symlinks,
            lines=False,  # the audit shows no lines: skip their traced cold start
            installer=installer_setting(installer, path),
        )
        if previous is not None:
            # Refuse before spending a minute on cold starts that cannot be compared, on the
            # Python the function's Runtime names.
            check_comparable(previous, planned_python(request), sys.platform, platform.machine())
        if fail_on_deferrable_ms is not None and not request.events:
            raise UsageError(
                "--fail-on-deferrable-ms needs --event: with no invocation to go by, every "
                "dependency would count as deferrable"
            )
        progress = make_progress(chosen, output, quiet)
        base_commit = None
        try:
            if base is not None:
                from coldprof.audit.base import measure_against_base

                paired = measure_against_base(request, base, progress)
                result, previous, base_commit = paired.head, paired.base, paired.commit
            else:
                result = run_analyze(request, progress)
        finally:
            progress.finish()
        if result.declared is not None and not functions:
            # The project's only function: its own [tool.coldprof.functions.<id>] budgets apply.
            own = config.for_function(result.declared.logical_id)
            budgets = budgets_of(own)
            fail_on_deferrable_ms = pick(fail_on_deferrable_ms, own, "fail-on-deferrable-ms")
        audited = run_audit(
            result,
            budgets,
            previous,
            baseline_path=str(baseline_path) if previous is not None and base is None else None,
            config_path=str(config.path) if config.path and config.values else None,
            base_ref=base,
            base_commit=base_commit,
        )
        if fail_on_deferrable_ms is not None:
            from coldprof.audit.deferrable import deferrable_audit_findings

            deferrable = deferrable_audit_findings(result, fail_on_deferrable_ms)
            audited = replace(audited, findings=(*audited.findings, *deferrable))
        from coldprof.measure.importsite import with_locations

        audited = replace(audited, findings=with_locations(audited.findings, result))
        if update_baseline and baseline_path is not None:
            write_baseline(baseline_path, result)
            audited = replace(
                audited, notes=(*audited.notes, f"wrote the baseline {baseline_path}")
            )
        emit(audited, fmt, output, top, quiet)
        report_event_failures(result)
    except FunctionInitError as e:
        report_init_failure(e, fmt, output, top, quiet)
    except ColdprofError as e:
        fail(e)
    if not audited.ok:
        raise typer.Exit(EXIT_FINDINGS)


def load_project_baseline(path: Path) -> dict[str, AnalyzeResult]:
    """A saved project result (analyze or audit of a project) → each function's run."""
    from coldprof.results.load import load_result
    from coldprof.results.project import ProjectAuditResult, ProjectResult

    if not path.exists():
        raise UsageError(
            f"--baseline {path}: no such file",
            hint="write one with `coldprof audit PROJECT --baseline FILE --update-baseline`",
        )
    saved = load_result(path)
    if isinstance(saved, ProjectAuditResult):
        return saved.analyzed()
    if isinstance(saved, ProjectResult):
        return {f.logical_id: f.result for f in saved.functions if f.result is not None}
    raise UsageError(
        f"--baseline {path}: a {saved.kind} result; a project is compared with a project's",
        hint="pick one function with --function, or write a project baseline with "
        "--update-baseline",
    )


def audit_all(
    project: Project,
    request: AnalyzeRequest,
    policy_for: Callable[[str], FunctionPolicy],
    functions: list[str],
    baseline_path: Path | None,
    update_baseline: bool,
    config: Config,
    fmt: OutputFormat | None,
    output: Path | None,
    top: int | None,
    quiet: bool = False,
) -> None:
    """Every chosen function audited; the worst exit code of theirs."""
    from coldprof.audit.project import audit_project
    from coldprof.results.project import ProjectFunction, ProjectResult

    progress = make_progress(output_format(fmt, output), output, quiet)
    try:
        result = audit_project(
            project,
            request,
            policy_for,
            functions,
            progress,
            baseline_path=str(baseline_path) if baseline_path and not update_baseline else None,
            config_path=str(config.path) if config.path and config.values else None,
        )
    finally:
        progress.finish()
    if update_baseline and baseline_path is not None:
        runs = result.analyzed()
        saved = ProjectResult(
            result.template,
            result.source_format,
            tuple(ProjectFunction(i, r) for i, r in runs.items()),
        )
        write_baseline(baseline_path, saved)
        result = replace(result, notes=(*result.notes, f"wrote the baseline {baseline_path}"))
    for entry in result.functions:
        if entry.function_output.strip():
            typer.echo(f"---- {entry.logical_id}: the function's output ----", err=True)
            typer.echo(entry.function_output.rstrip(), err=True)
            typer.echo("-------------------------------", err=True)
    emit(result, fmt, output, top, quiet)
    for entry in result.functions:
        if entry.error:
            typer.echo(f"coldprof: error: {entry.logical_id}: {entry.error}", err=True)
            if entry.hint:
                typer.echo(f"hint: {entry.hint}", err=True)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
