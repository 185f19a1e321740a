"""How reports read: the (function) row, plurals, and sizes in the units Lambda counts them in."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from coldprof.render import OutputFormat, render
from coldprof.render.units import plural, size
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
