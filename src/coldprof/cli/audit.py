"""The `coldprof audit` command: analyze, then hold the result to budgets and a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coldprof.cli.baseline import load_baseline, load_project_baseline, write_baseline
from coldprof.cli.options import (
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
    TopOption,
    analyze_request,
    parse_runs,
    project_to_run,
)
from coldprof.cli.output import (
    Destination,
    report_event_failures,
    report_init_failure,
    show_project_errors,
    show_project_outputs,
)
from coldprof.errors import EXIT_FINDINGS, FunctionInitError, UsageError

if TYPE_CHECKING:
    from coldprof.audit.project import FunctionPolicy
    from coldprof.config import Config
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.project import Project
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.audit import AuditResult, Budgets


class Policy:
    """The budget flags as given; one not given comes from [tool.coldprof], where a function's
    own table wins over the shared one, key by key."""

    # A plain class, not a dataclass: this module is imported at start-up, where making a
    # dataclass (and importing dataclasses) would cost more than the rest of it.
    __slots__ = (
        "fail_on_deferrable_ms",
        "max_dependency_ms",
        "max_init_ms",
        "max_package_mb",
        "max_regression_pct",
        "min_regression_ms",
    )

    def __init__(
        self,
        max_init_ms: float | None = None,
        max_dependency_ms: float | None = None,
        max_package_mb: float | None = None,
        max_regression_pct: float | None = None,
        min_regression_ms: float | None = None,
        fail_on_deferrable_ms: float | None = None,
    ) -> None:
        self.max_init_ms = max_init_ms
        self.max_dependency_ms = max_dependency_ms
        self.max_package_mb = max_package_mb
        self.max_regression_pct = max_regression_pct
        self.min_regression_ms = min_regression_ms
        self.fail_on_deferrable_ms = fail_on_deferrable_ms

    def budgets(self, config: Config) -> Budgets:
        from coldprof.config import pick
        from coldprof.results.audit import (
            DEFAULT_MIN_REGRESSION_MS,
            DEFAULT_REGRESSION_PCT,
            Budgets,
        )

        return Budgets(
            max_init_ms=pick(self.max_init_ms, config, "max-init-ms"),
            max_dependency_ms=pick(self.max_dependency_ms, config, "max-dependency-ms"),
            max_package_mb=pick(self.max_package_mb, config, "max-package-mb"),
            max_regression_pct=float(
                pick(self.max_regression_pct, config, "max-regression-pct", DEFAULT_REGRESSION_PCT)
            ),
            min_regression_ms=float(
                pick(self.min_regression_ms, config, "min-regression-ms", DEFAULT_MIN_REGRESSION_MS)
            ),
        )

    def deferrable_ms(self, config: Config) -> float | None:
        from coldprof.config import pick

        limit: float | None = pick(self.fail_on_deferrable_ms, config, "fail-on-deferrable-ms")
        return limit

    def for_function(
        self, config: Config, logical_id: str, baseline: AnalyzeResult | None
    ) -> FunctionPolicy:
        """What one of a project's functions is held to."""
        from coldprof.audit.project import FunctionPolicy

        own = config.for_function(logical_id)
        return FunctionPolicy(self.budgets(own), baseline, self.deferrable_ms(own))


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
    top: TopOption = 15,
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
    from dataclasses import replace

    from coldprof.config import load, pick
    from coldprof.project import parse_parameters

    destination = Destination(fmt, output, top, quiet)
    policy = Policy(
        max_init_ms,
        max_dependency_ms,
        max_package_mb,
        max_regression_pct,
        min_regression_ms,
        fail_on_deferrable_ms,
    )
    try:
        destination.format()
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
        config = load(path)
        if not quiet:
            for warning in config.warnings:
                typer.echo(f"coldprof: warning: {warning}", err=True)
        functions = list(dict.fromkeys(function or ()))
        parameters = parse_parameters(parameter)
        if len(functions) == 1:
            config = config.for_function(functions[0])
        baseline_path = baseline or config.path_setting("baseline")
        if base is not None and (baseline is not None or update_baseline):
            raise UsageError("--base and --baseline are two ways to compare: pick one")
        if base is not None:
            baseline_path = None  # a `baseline` in pyproject gives way to --base
        counted = parse_runs(pick(runs, config, "runs", "10"))
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

        def request_for(handler: str | None, function: str | None) -> AnalyzeRequest:
            return analyze_request(
                path,
                handler=handler,
                function=function,
                parameters=parameters,
                runs=counted,
                max_runs=max_runs,
                build=build,
                layer=layer,
                env=env,
                follow_symlinks=follow_symlinks,
                bytecode_runs=bytecode_runs,
                init_limit=init_limit,
                event=event,
                installer=installer,
            )

        # An audit shows no lines: neither path runs their traced cold start.
        if project is not None:
            baselines = (
                load_project_baseline(baseline_path)
                if baseline_path is not None and not update_baseline
                else {}
            )
            audit_all(
                project,
                replace(request_for(None, None), lines=False),
                policy,
                baselines,
                functions,
                baseline_path,
                update_baseline,
                config,
                destination,
            )
            return
        previous = None
        if baseline_path is not None and not update_baseline:
            previous = load_baseline(baseline_path, functions[0] if functions else None)
        request = request_for(
            handler or (None if functions else config.get("handler")),
            functions[0] if functions else None,
        )
        audited = audit_one(
            replace(request, lines=False),
            policy,
            config,
            bool(functions),
            previous,
            base,
            baseline_path,
            update_baseline,
            destination,
        )
    except FunctionInitError as e:
        report_init_failure(e, destination)
    if not audited.ok:
        raise typer.Exit(EXIT_FINDINGS)


def audit_one(
    request: AnalyzeRequest,
    policy: Policy,
    config: Config,
    picked: bool,
    previous: AnalyzeResult | None,
    base: str | None,
    baseline_path: Path | None,
    update_baseline: bool,
    destination: Destination,
) -> AuditResult:
    """One function, measured alone or in pairs against --base, judged and reported."""
    import platform
    import sys
    from dataclasses import replace

    from coldprof.audit.baseline import check_comparable
    from coldprof.audit.judge import judge
    from coldprof.measure.analyze import analyze as run_analyze
    from coldprof.measure.analyze import planned_python

    if previous is not None:
        # Refuse before spending a minute on cold starts that cannot be compared, on the
        # Python the function's Runtime names.
        check_comparable(previous, planned_python(request), sys.platform, platform.machine())
    deferrable_ms = policy.deferrable_ms(config)
    if deferrable_ms is not None and not request.events:
        raise UsageError(
            "--fail-on-deferrable-ms needs --event: with no invocation to go by, every "
            "dependency would count as deferrable"
        )
    progress = destination.progress()
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
    budgets = policy.budgets(config)
    if result.declared is not None and not picked:
        # The project's only function: its own [tool.coldprof.functions.<id>] budgets apply.
        config = config.for_function(result.declared.logical_id)
        budgets = policy.budgets(config)
        deferrable_ms = policy.deferrable_ms(config)
    audited = judge(
        result,
        budgets,
        previous,
        deferrable_ms,
        baseline_path=str(baseline_path) if previous is not None and base is None else None,
        config_path=str(config.path) if config.path and config.values else None,
        base_ref=base,
        base_commit=base_commit,
    )
    if update_baseline and baseline_path is not None:
        write_baseline(baseline_path, result)
        audited = replace(audited, notes=(*audited.notes, f"wrote the baseline {baseline_path}"))
    destination.emit(audited)
    report_event_failures(result)
    return audited


def audit_all(
    project: Project,
    request: AnalyzeRequest,
    policy: Policy,
    baselines: dict[str, AnalyzeResult],
    functions: list[str],
    baseline_path: Path | None,
    update_baseline: bool,
    config: Config,
    destination: Destination,
) -> None:
    """Every chosen function audited; the worst exit code of theirs."""
    from dataclasses import replace

    from coldprof.audit.project import audit_project
    from coldprof.results.project import ProjectFunction, ProjectResult

    progress = destination.progress()
    try:
        result = audit_project(
            project,
            request,
            lambda logical_id: policy.for_function(config, logical_id, baselines.get(logical_id)),
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
    show_project_outputs(result.functions)
    destination.emit(result)
    show_project_errors(result.functions)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
