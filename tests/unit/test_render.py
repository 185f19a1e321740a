"""Renderers: every output format on the same analyze, audit and remote results."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coldprof.audit.core import audit
from coldprof.errors import UsageError
from coldprof.measure.analyze import AnalyzeRequest, analyze
from coldprof.render import OutputFormat, format_for_path, page_html, render, supported
from coldprof.render import interactive_html as interactive
from coldprof.render.analyze_speedscope import SCHEMA
from coldprof.render.remote_html import html as remote_html
from coldprof.results.analyze import AnalyzeResult, ImportTreeNode
from coldprof.results.audit import Budgets
from coldprof.results.load import result_from_dict
from conftest import busy_module, install_distribution
from factories import dependency, remote_dict

KINDS = ("analyze", "audit", "remote")


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> AnalyzeResult:
    """A real result: a function importing two dependencies, one through the other."""
    root = tmp_path_factory.mktemp("render") / "fn"
    root.mkdir()
    (root / "lambda_function.py").write_text(
        "import slowdep\nimport helpers\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    (root / "helpers.py").write_text(busy_module(5))
    install_distribution(root, "basedep", {"basedep/__init__.py": busy_module(10)})
    install_distribution(
        root, "slowdep", {"slowdep/__init__.py": busy_module(20, "import basedep")}
    )
    return analyze(AnalyzeRequest(path=root, runs=2, bytecode_runs=0))


@pytest.fixture(scope="module")
def audited(analyzed: AnalyzeResult) -> Any:
    """An audit with every kind of change: new, removed, grown, and budgets broken."""
    kept = [
        replace(d, self_ms=d.self_ms / 3) if d.name == "slowdep" else d
        for d in analyzed.dependencies
    ]
    baseline = replace(
        analyzed,
        dependencies=(
            *[d for d in kept if d.name != "basedep"],
            dependency("olddep", [12.0, 12.5]),
        ),
    )
    return audit(analyzed, Budgets(max_init_ms=1, max_dependency_ms=1), baseline, "base.json")


@pytest.fixture(scope="module")
def remote() -> Any:
    return result_from_dict(remote_dict(), "remote")


@pytest.fixture
def results(analyzed: AnalyzeResult, audited: Any, remote: Any) -> dict[str, Any]:
    return {"analyze": analyzed, "audit": audited, "remote": remote}


def tree_nodes(nodes: tuple[ImportTreeNode, ...]) -> list[ImportTreeNode]:
    return [n for node in nodes for n in (node, *tree_nodes(node.children))]


# -- every format on the same result ------------------------------------------------------------
@pytest.mark.parametrize("fmt", list(OutputFormat), ids=lambda f: f.value)
@pytest.mark.parametrize("kind", ["analyze", "audit"])
def test_every_format_renders_the_same_result(
    kind: str, fmt: OutputFormat, results: dict[str, Any]
) -> None:
    text = render(results[kind], fmt)
    assert text.strip()
    if fmt is OutputFormat.json:
        assert json.loads(text)["kind"] == kind
    elif fmt is OutputFormat.speedscope:
        assert json.loads(text)["$schema"] == SCHEMA
    elif fmt is OutputFormat.markdown:
        assert re.search(r"^\|[-| :]+\|$", text, re.MULTILINE), "no markdown table"
    elif fmt is OutputFormat.html:
        assert text.startswith("<!DOCTYPE html>") and "<table>" in text
    else:
        assert "slowdep" in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_format_maps_to_one_renderer_or_a_clear_usage_error(
    kind: str, results: dict[str, Any]
) -> None:
    formats = supported(kind)
    assert OutputFormat.json in formats
    for fmt in OutputFormat:
        if fmt in formats:
            assert render(results[kind], fmt).strip(), fmt
        else:
            with pytest.raises(UsageError, match=f"--format {fmt.value} .*{kind}"):
                render(results[kind], fmt)
    if kind in ("analyze", "audit"):
        assert set(formats) == set(OutputFormat)


def test_output_file_names_pick_their_format() -> None:
    assert format_for_path(Path("r.speedscope.json")) is OutputFormat.speedscope
    assert format_for_path(Path("r.json")) is OutputFormat.json
    assert format_for_path(Path("r.html")) is OutputFormat.html
    assert format_for_path(Path("r.md")) is OutputFormat.markdown


# -- speedscope ---------------------------------------------------------------------------------
def test_speedscope_is_a_balanced_evented_profile_of_the_import_tree(
    analyzed: AnalyzeResult,
) -> None:
    doc = json.loads(render(analyzed, OutputFormat.speedscope))
    frames = doc["shared"]["frames"]
    (profile,) = doc["profiles"]
    assert profile["type"] == "evented" and profile["unit"] == "milliseconds"
    stack: list[int] = []
    last = 0.0
    for event in profile["events"]:
        assert 0 <= event["frame"] < len(frames)
        assert event["at"] >= last
        last = event["at"]
        if event["type"] == "O":
            stack.append(event["frame"])
        else:
            assert event["type"] == "C" and stack.pop() == event["frame"]
    assert not stack and last <= profile["endValue"]
    modules = {(n.module, n.dependency) for n in tree_nodes(analyzed.imports)}
    assert {(f["name"], f["file"]) for f in frames} >= modules
    opened = sum(1 for e in profile["events"] if e["type"] == "O")
    assert opened == len(tree_nodes(analyzed.imports)) + 1  # and the init root
    slowdep = next(f for f in frames if f["name"] == "slowdep")
    assert slowdep["file"] == "slowdep"


# -- markdown -----------------------------------------------------------------------------------
def test_audit_markdown_is_a_pr_comment_naming_the_culprits(audited: Any) -> None:
    text = render(audited, OutputFormat.markdown)
    assert text.startswith("<!-- coldprof-audit -->\n## ❌ coldprof audit")
    assert "| `new-dependency` | **basedep**" in re.sub(r" +", " ", text)
    assert "| `max-init-ms`" in re.sub(r" +", " ", text)
    assert "### Dependencies against the baseline" in text
    assert "olddep" in text and "removed" in text
    clean = audit(audited.result, Budgets())
    assert "## ✅ coldprof audit" in render(clean, OutputFormat.markdown)


def test_audit_table_lists_findings_then_the_comparison(audited: Any) -> None:
    text = render(audited, OutputFormat.table)
    assert text.startswith("coldprof audit: FAIL:")
    assert "[max-dependency-ms] slowdep" in text
    assert re.search(r"^basedep\s+new\s", text, re.MULTILINE)
    assert re.search(r"^olddep\s+removed\s", text, re.MULTILINE)


# -- HTML ---------------------------------------------------------------------------------------
def assert_self_contained(page: str) -> None:
    assert "Content-Security-Policy" in page
    # Nothing to fetch: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert not re.search(r"url\((?!#)", page), "only same-document url(#id) references"
    # The one script is coldprof's own, inline, allowed by its hash and by nothing else.
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    assert scripts in ([], [interactive.SCRIPT])
    (csp,) = re.findall(r'Content-Security-Policy" content="([^"]+)"', page)
    digest = base64.b64encode(hashlib.sha256(interactive.SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "unsafe-inline'; img" in csp
    assert "script-src 'unsafe-inline'" not in csp


@pytest.mark.parametrize("kind", KINDS)
def test_html_without_matplotlib_draws_boxes_and_says_so(
    kind: str, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_html, "plotting_available", lambda: False)
    page = (
        render(results[kind], OutputFormat.html) if kind != "remote" else remote_html(results[kind])
    )
    assert_self_contained(page)
    if kind != "remote":
        # The import chart needs no matplotlib: zoomable boxes, whatever is installed.
        assert 'class="icicle zoomable"' in page and "<script>" in page
        assert 'title="slowdep (slowdep)' in page  # hover text on each box
        assert "basedep" in page
    else:
        assert "plot extra (coldprof[plot])" in page
        assert "Init and cold penalty" in page and "1024" in page
        assert 'class="pt-chart"' in page


@pytest.mark.parametrize("kind", KINDS)
def test_html_with_matplotlib_inlines_svg_charts(kind: str, results: dict[str, Any]) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    page = (
        render(results[kind], OutputFormat.html) if kind != "remote" else remote_html(results[kind])
    )
    assert_self_contained(page)
    assert "<?xml" not in page and "coldprof[plot]" not in page
    if kind != "remote":
        assert 'class="icicle zoomable"' in page
        assert 'class="samples-plot"' in page  # init samples drawn, not listed
    else:
        assert "<svg" in page
        assert "Init Duration against package size" in page
        assert "Cold penalty against memory" in page


def test_dependency_colours_are_stable_and_fixed_for_stdlib() -> None:
    colours = page_html.dependency_colours(["numpy", "(stdlib)", "requests", "numpy"])
    assert colours["(stdlib)"] == page_html.FIXED_COLOURS["(stdlib)"]
    assert colours["numpy"] == page_html.PALETTE[0] and colours["requests"] == page_html.PALETTE[1]


def test_icicle_boxes_nest_children_inside_their_parent(analyzed: AnalyzeResult) -> None:
    boxes, total = interactive.icicle_boxes(analyzed.imports)
    assert total > 0
    by_module = {b.node.module: b for b in boxes}
    parent, child = by_module["slowdep"], by_module["basedep"]
    assert child.depth == parent.depth + 1
    assert parent.start <= child.start and child.start + child.width <= parent.start + parent.width


@pytest.mark.parametrize(
    ("penalty", "within_noise", "shipped", "expected"),
    [
        (None, False, True, "bytecode shipped (penalty not measured)"),
        (
            412.5,
            False,
            True,
            "bytecode shipped (412.5 ms more without it, 95% interval 400.0 to 430.0 over 3 runs)",
        ),
        (
            -3.2,
            True,
            True,
            "bytecode shipped (no measurable saving: -3.2 ms, 95% interval -10.0 to 4.0 over 3 "
            "runs; the interval holds 0)",
        ),
        (1.5, True, False, "bytecode NOT shipped (no measurable cost: 1.5 ms, 95% interval"),
    ],
)
def test_the_headline_reads_the_bytecode_penalty_plainly(
    penalty: float | None, within_noise: bool, shipped: bool, expected: str
) -> None:
    from factories import result

    base = result([dependency("slowdep", [20.0, 22.0])], [100.0, 110.0])
    intervals = {412.5: (400.0, 430.0), -3.2: (-10.0, 4.0), 1.5: (-2.0, 5.0)}
    package = replace(
        base.package,
        has_bytecode=shipped,
        bytecode_penalty_ms=penalty,
        bytecode_penalty_within_noise=within_noise,
        bytecode_penalty_ci95=intervals.get(penalty) if penalty is not None else None,
        bytecode_penalty_runs=3 if penalty is not None else 0,
    )
    text = render(
        replace(base, package=package, discarded_runs=1, discarded_reason="why"), OutputFormat.table
    )
    assert expected in text
    assert "2 cold starts (+1 not counted: why)" in text
    assert "10 files;" in text


# -- CI output ----------------------------------------------------------------------------------
def test_github_format_is_one_workflow_command_per_line(audited: Any) -> None:
    text = render(audited, OutputFormat.github)
    lines = text.splitlines()
    assert all(re.match(r"^::(error|warning|notice)( [^:]*)?::", line) for line in lines), text
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == len(audited.findings)
    assert any("title=coldprof max-dependency-ms%3A slowdep" in line for line in errors)


def test_github_commands_escape_what_the_runner_would_misread() -> None:
    from coldprof.render.analyze_github import command

    line = command("error", "50% slower\nsecond line", "a,b:c.py", 3, "t: x")
    assert line == "::error file=a%2Cb%3Ac.py,line=3,title=t%3A x::50%25 slower%0Asecond line"
    assert command("warning", "plain") == "::warning::plain"


def test_markdown_is_headed_by_the_path_with_right_aligned_numbers(
    audited: Any, analyzed: AnalyzeResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From a folder the function is not under, its path shows as saved (the tests' temporary
    # folders may sit under the checkout coldprof runs from: see conftest's basetemp).
    monkeypatch.chdir(tmp_path)
    for result, kind in ((audited, "audit"), (analyzed, "analyze")):
        text = render(result, OutputFormat.markdown)
        run = result if kind == "analyze" else result.result
        assert f"coldprof {kind} `{run.function_path}`" in text
        lines = text.splitlines()
        header = next(i for i, line in enumerate(lines) if re.search(r"\|\s*self ms", line))
        names = [cell.strip() for cell in lines[header].strip("|").split("|")]
        aligns = [cell.strip() for cell in lines[header + 1].strip("|").split("|")]
        for name in ("self ms", "inclusive ms", "unzipped"):
            assert aligns[names.index(name)].endswith("-:"), (name, lines[header + 1])
        assert aligns[0].startswith(":-")  # names stay left
        # Intervals sit beside the figures, at the figures' one decimal.
        assert "95% interval" in text
        assert not re.search(r"\d\.\d{2,} ms", text), "ms figures at one decimal"


def test_markdown_leaves_out_empty_sections(analyzed: AnalyzeResult) -> None:
    same = audit(analyzed, Budgets(), analyzed)
    text = render(same, OutputFormat.markdown)
    assert "### Dependencies against" not in text  # nothing changed: no empty table
    assert "Notes" not in text or "<details>" in text
    assert "| rule" not in text  # no findings: no findings table


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_sums_up_in_one_line(kind: str, results: dict[str, Any]) -> None:
    from coldprof.render import summary

    line = summary(results[kind])
    assert line.startswith(f"coldprof {kind}") and "\n" not in line
    if kind != "remote":
        assert "init median" in line and "[" in line  # the median with its interval
