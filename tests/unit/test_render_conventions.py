"""How reports read: the (function) row, plurals, and sizes in the units Lambda counts them in."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

import coldprof.render
from coldprof.errors import UsageError
from coldprof.figures import plural, size
from coldprof.render import OutputFormat, render, supported
from coldprof.render.registry import RENDERERS, SUMMARIES, renderer
from coldprof.results.load import READERS
from conftest import REPO
from factories import dependency, result


def analyze_result(runs: int = 3):
    own = dependency("(function)", [2.0] * runs, [300.0] * runs, kind="function", version=None)
    numpy = dependency("numpy", [70.0] * runs, [90.0] * runs)
    tiny = dependency("tiny", [0.5] * runs, [0.5] * runs)
    return result([own, numpy, tiny], [320.0] * runs)


def table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----")) + 1
    return [line for line in lines[start:] if line.strip() and not line.startswith("(")][:3]


def test_the_function_row_shows_its_own_code_and_does_not_head_the_table() -> None:
    text = render(analyze_result(), OutputFormat.table)
    rows = table_rows(text)
    assert rows[0].startswith("numpy")
    function_row = next(line for line in text.splitlines() if line.startswith("(function)"))
    assert function_row.split()[:4] == ["(function)", "function", "2.0", "2.0"]
    assert "2.0 ms is your modules' own code" in text and "300.0 ms" in text
    markdown = render(analyze_result(), OutputFormat.markdown)
    assert markdown.index("| numpy") < markdown.index("| (function)")
    html = render(analyze_result(), OutputFormat.html)
    table = html[html.index("<table") :]
    assert table.index("numpy<") < table.index("(function)<")


def test_the_saved_inclusive_time_is_unchanged() -> None:
    """Only the table reads differently: JSON (and audit's budgets) keep the measured figure."""
    data = render(analyze_result(), OutputFormat.json)
    assert '"inclusive_ms": 300.0' in data


def test_one_cold_start_is_singular() -> None:
    one = dataclasses.replace(analyze_result(1), runs=1)
    assert "·  1 cold start\n" in render(one, OutputFormat.table)
    assert "·  3 cold starts\n" in render(analyze_result(3), OutputFormat.table)
    assert plural(1, "file") == "1 file" and plural(1703, "file") == "1,703 files"


def test_sizes_are_binary_units_named_so() -> None:
    assert size(1536) == "1.5 KiB"
    assert size(72 * 2**20) == "72.0 MiB"
    assert size(3 * 2**30) == "3.0 GiB"
    assert " MB" not in render(analyze_result(), OutputFormat.table)


def test_results_record_paths_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coldprof.measure.runinfo import recorded_path

    monkeypatch.chdir(tmp_path)
    assert recorded_path(tmp_path / "sample_functions" / "minimal") == "sample_functions/minimal"
    assert recorded_path(Path("sample_functions/minimal")) == "sample_functions/minimal"
    assert recorded_path(Path.home() / ".cache" / "x") in ("~/.cache/x", ".cache/x")
    assert recorded_path("/") == "/"


def test_committed_reports_name_no_absolute_path() -> None:
    reports = REPO / "reports"
    for report in sorted(reports.glob("*")):
        if report.suffix not in (".json", ".txt", ".md", ".html"):
            continue
        text = report.read_text()
        leaks = re.findall(r"(?:/work|/root|/home|/Users|/tmp)/[\w./-]+", text)
        assert not leaks, f"{report.name}: {leaks[:3]}"


# -- the registry ---------------------------------------------------------------------------------
def test_every_kind_the_loader_reads_has_one_renderer_per_format_it_offers() -> None:
    """Each (kind, format) pair resolves to one function, defined in the module the registry
    names (no re-export standing in), following render/<kind>_<format>.py; JSON is every kind's."""
    assert {kind for kind, _ in RENDERERS} == set(READERS)
    for (kind, fmt), (module, _name) in RENDERERS.items():
        function = renderer(kind, fmt)
        assert callable(function), (kind, fmt)
        assert function.__module__ == f"coldprof.render.{module}", (kind, fmt)
        if fmt is not OutputFormat.json:
            assert module.startswith(("analyze_", kind + "_")), (kind, fmt, module)
    for kind in READERS:
        assert OutputFormat.json in supported(kind)
    for kind, (module, name) in SUMMARIES.items():
        assert kind in READERS and callable(
            getattr(importlib.import_module(f"coldprof.render.{module}"), name, None)
        )


@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_pair_with_no_renderer_is_the_one_line_usage_error(kind: str) -> None:
    for fmt in OutputFormat:
        if (kind, fmt) in RENDERERS:
            continue
        with pytest.raises(UsageError) as raised:
            renderer(kind, fmt)
        assert raised.value.message == f"--format {fmt.value} is not available for {kind} results"
        assert raised.value.exit_code == 2


def test_render_has_no_import_cycle() -> None:
    """No module of render/ imports, at any level, one that imports it back."""
    package = Path(coldprof.render.__file__).parent
    imports: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        found = re.findall(
            r"^\s*from coldprof\.render(?:\.(\w+))? import ([\w, ]+)", path.read_text(), re.M
        )
        names: set[str] = set()
        for module, imported in found:
            names |= (
                {module} if module else {n.split(" as ")[0].strip() for n in imported.split(",")}
            )
        imports[path.stem] = names & {p.stem for p in package.glob("*.py")}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in imports.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    cycles = [m for m in imports if m != "__init__" and reaches(m, m, {m})]
    assert not cycles, cycles
