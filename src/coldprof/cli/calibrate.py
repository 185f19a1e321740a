"""The `coldprof calibrate` command: a per-account factor on the Lambda init estimate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coldprof.errors import UsageError


def calibrate(
    remote_file: Annotated[
        Path, typer.Argument(metavar="REMOTE.json", help="A `coldprof remote` result.")
    ],
    analyze_files: Annotated[
        list[Path],
        typer.Argument(
            metavar="ANALYZE.json", help="`coldprof analyze` results of the same functions."
        ),
    ],
) -> None:
    """Fit the Lambda estimate to your account: measured ÷ estimated init, stored in the cache
    and applied (and named) in later estimates."""
    from coldprof.build.cache import cache_root
    from coldprof.estimate.calibrate import account_adjustment, save_adjustment
    from coldprof.results.analyze import AnalyzeResult
    from coldprof.results.load import load_result
    from coldprof.results.remote import RemoteResult

    remote = load_result(remote_file)
    if not isinstance(remote, RemoteResult):
        raise UsageError(f"{remote_file}: not a remote result (it is {remote.kind})")
    analyses = []
    for path in analyze_files:
        analysis = load_result(path)
        if not isinstance(analysis, AnalyzeResult):
            raise UsageError(f"{path}: not an analyze result (it is {analysis.kind})")
        analyses.append(analysis)
    found = account_adjustment(remote, analyses)
    saved = save_adjustment(found.adjustment, cache_root())
    for name, measured, estimated in found.matched:
        typer.echo(f"{name}: measured {measured:,.1f} ms, model {estimated:,.1f} ms")
    typer.echo(
        f"account adjustment ×{found.adjustment.factor:.2f} from {found.adjustment.functions} "
        f"function(s); later estimates use it (stored in {saved})"
    )
