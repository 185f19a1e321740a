"""An audit as GitHub Actions workflow commands: ::error per finding, ::warning per deferrable."""

from __future__ import annotations

from typing import Any

from coldprof.render.analyze_github import command, deferrable_warnings, init_notice, repo_path
from coldprof.results.audit import AuditResult


def github(result: AuditResult, **_options: Any) -> str:
    """Workflow commands: ::error per finding (at the import, when known), ::warning per
    deferrable import, and a notice with init."""
    run = result.result
    lines = [init_notice(run)]
    for finding in result.findings:
        file = repo_path(run.function_path, finding.file) if finding.file else None
        title = f"coldprof {finding.rule}: {finding.subject}"
        lines.append(command("error", finding.message, file, finding.line, title))
    lines += deferrable_warnings(run)
    return "\n".join(lines) + "\n"
