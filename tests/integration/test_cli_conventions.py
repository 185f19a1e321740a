"""CLI conventions: -h, help at the terminal's width, plain placeholders, per-command formats,
and documentation that gives every option the default the code has."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import pytest
import typer

from coldprof.cli.app import COMMANDS, app
from coldprof.render import OutputFormat, supported
from conftest import REPO, coldprof_cmd

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Which commands a page documents (README's options are analyze's).
PAGE_COMMANDS = {
    "README.md": ("analyze",),
    "emulator.md": ("emulator",),
    "remote.md": ("remote",),
    "audit.md": ("audit",),
    "ci.md": ("audit",),
    "advisor.md": ("analyze",),
}
# Documented defaults that are not the parameter's literal default, and why.
NOT_LITERAL = {
    "--format": "no --format means a table, or the --output file's extension",
    "--region": "from the ARN, the environment or the profile",
    "--profile": "boto3's own default",
    "--endpoint-url": "the AWS_ENDPOINT_URL* variables",
    "--runtime": "this Python's version",
}


def help_of(*args: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run(coldprof_cmd(*args), capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    ctx = group.make_context("coldprof", ["analyze"], resilient_parsing=True)
    return {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}


def test_h_is_help() -> None:
    assert help_of("-h") == help_of("--help")
    assert help_of("analyze", "-h") == help_of("analyze", "--help")
    assert "-h, --help" in help_of("remote", "-h")


def test_help_uses_the_terminals_width() -> None:
    narrow = help_of("analyze", "-h", columns=80)
    wide = help_of("analyze", "-h", columns=160)
    assert max(map(len, narrow.splitlines())) <= 80
    assert 100 < max(map(len, wide.splitlines())) <= 160
    assert len(wide.splitlines()) < len(narrow.splitlines())


def test_placeholders_are_plain() -> None:
    text = help_of("analyze", "-h") + help_of("remote", "-h") + help_of("audit", "-h")
    assert re.search(r"^Usage: .* analyze \[OPTIONS\] PATH$", text, re.MULTILINE)
    assert re.search(r"^Usage: .* remote \[OPTIONS\] \[PATHS\.\.\.\]$", text, re.MULTILINE)
    assert "--samples INTEGER" in text and "--layer PATH" in text and "--arn TEXT" in text
    assert "--runs INTEGER|auto" in text  # a number, or the word
    odd = re.findall(r"(?:--[a-z-]+|\]) (?:<[a-z ]+>|\{[a-z_]+\})|^Usage: .*[{<]", text, re.M)
    assert not odd, odd


def test_a_missing_argument_is_named_as_help_shows_it() -> None:
    done = subprocess.run(coldprof_cmd("analyze"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Missing argument 'PATH'" in done.stderr


@pytest.mark.parametrize("kind", ["analyze", "remote", "audit", "logs"])
def test_each_command_offers_only_the_formats_it_can_write(kind: str) -> None:
    (param,) = [p for p in commands()[kind].params if "--format" in p.opts]
    offered = [str(getattr(c, "value", c)) for c in param.type.choices]
    assert offered == [f.value for f in supported(kind)]
    assert set(COMMANDS) == set(commands())


def test_remote_refuses_speedscope_as_a_usage_error() -> None:
    done = subprocess.run(
        coldprof_cmd("remote", "--local", "x", "--format", "speedscope"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "speedscope" in done.stderr and "table" in done.stderr
    assert OutputFormat.speedscope.value not in help_of("remote", "-h")


def test_exit_codes_for_signals_are_documented() -> None:
    readme = (REPO / "README.md").read_text()
    for code in ("130", "143", "129"):
        assert re.search(rf"\| `{code}` \|", readme), code


# -- documented defaults -------------------------------------------------------------------------
_INLINE = re.compile(
    r"`(--[a-z][a-z-]*)[^`]*`(?:(?!`--)[^|]){0,120}?\bdefaults? (?:is |to )?`?([^`;,)\s]+)"
)
_TABLE = re.compile(r"^\| `(--[a-z][a-z-]*)[^`]*` \| `?([^`|]+?)`? \|", re.MULTILINE)


def config_backed() -> dict[str, Any]:
    """audit's options that `[tool.coldprof]` can set have no literal default (None means "not
    given"): their default is applied later, from these."""
    from coldprof.measure.analyze import AnalyzeRequest
    from coldprof.results.audit import DEFAULT_MIN_REGRESSION_MS, DEFAULT_REGRESSION_PCT

    return {
        "--runs": AnalyzeRequest.runs,
        "--max-regression-pct": DEFAULT_REGRESSION_PCT,
        "--min-regression-ms": DEFAULT_MIN_REGRESSION_MS,
    }


def documented_defaults() -> list[tuple[str, str, str]]:
    """(page, option, default) for every default the docs state for an option."""
    found = []
    for page in DOCS:
        text = page.read_text()
        for option, default in [*_INLINE.findall(text), *_TABLE.findall(text)]:
            if default.strip() and default != "Default":
                found.append((page.name, option, default.strip()))
    return found


def _same(documented: str, default: Any) -> bool:
    if isinstance(default, bool):
        return documented == ("on" if default else "off")
    if isinstance(default, int | float):
        number = re.match(r"-?[0-9.]+", documented)
        return number is not None and float(number.group()) == float(default)
    return documented == str(default)


def test_the_docs_state_some_defaults() -> None:
    options = {option for _, option, _ in documented_defaults()}
    assert {"--runs", "--port", "--update-seconds", "--samples", "--min-regression-ms"} <= options


@pytest.mark.parametrize(("page", "option", "documented"), documented_defaults())
def test_documented_default_is_the_codes(page: str, option: str, documented: str) -> None:
    if option in NOT_LITERAL:
        pytest.skip(NOT_LITERAL[option])
    names = PAGE_COMMANDS[page]
    having = [
        (name, param)
        for name in names
        for param in commands()[name].params
        if option in param.opts or option in param.secondary_opts
    ]
    assert having, f"{page} documents {option}, which no command of it has"
    for name, param in having:
        default = param.default
        if default is None and option in config_backed():
            default = config_backed()[option]
        assert _same(documented, default), (
            f"{page}: {option} default {documented!r}, but `coldprof {name}` has {default!r}"
        )


def test_a_platform_without_sighup_still_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no SIGHUP: coldprof must not fail at start-up looking for it."""
    import signal

    from coldprof.cli.boundary import stop_on_signals

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.delattr(signal, "SIGHUP")
    try:
        stop_on_signals()
        assert signal.getsignal(signal.SIGTERM) is not before
    finally:
        signal.signal(signal.SIGTERM, before)
