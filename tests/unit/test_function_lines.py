"""Tests for coldprof.measure.function_lines's pure parts: statements, and the scaling."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from coldprof.measure import importtime
from coldprof.measure.function_lines import (
    LineTrace,
    TracedLine,
    function_lines,
    statements_by_line,
)
from coldprof.results.analyze import ImportTreeNode


def test_statements_by_line() -> None:
    source = textwrap.dedent(
        """\
        import os, sys
        from pathlib import (
            Path,
        )
        try:
            import ujson as json
        except ImportError:
            import json
        if os.environ.get("X"):
            client = boto3.client(
                "s3", region_name=region()
            )
            table = boto3.resource("dynamodb").Table(NAME)
        @decorator(1)
        def handler(event, context):
            return load()
        class Settings(Base):
            value = compute()
        x = 1
        """
    )
    by_line = statements_by_line(source)
    assert by_line[1].kind == "import" and by_line[3].text == "from pathlib import ( Path, )"
    assert by_line[3].line == 2
    assert by_line[5].kind == "other" and by_line[5].text == "try:"
    assert by_line[6].text == "import ujson as json" and by_line[7].text == "try:"
    assert (by_line[9].kind, by_line[9].callee) == ("call", "os.environ.get")
    assert by_line[11].line == 10 and by_line[11].callee == "boto3.client"
    assert by_line[14] == by_line[16] and by_line[14].kind == "def" and by_line[14].line == 14
    assert by_line[14].text == "def handler(event, context):"
    assert by_line[18].kind == "class" and by_line[18].line == 17
    assert by_line[19].kind == "other"
    assert by_line[13].callee == "boto3.resource().Table"


def test_traced_times_are_scaled_to_the_timed_runs(tmp_path: Path) -> None:
    """Imports take their timed import time; the rest of the module its timed self time."""
    app = tmp_path / "app.py"
    app.write_text("import heavy\nclient = make()\nSETTINGS = load()\n")
    # The traced run: tracing doubled heavy's import (40 → 80 ms) and the module's own work.
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:     80000 |      80000 |   heavy\n"
        "import time:     60000 |     140000 | app\n"
    )
    trace = LineTrace(
        tracer="sys.settrace",
        python="3.11.7",
        modules={str(app): "app"},
        lines=(
            TracedLine(str(app), 1, 80.5, 1, ("heavy", "heavy.sub")),
            TracedLine(str(app), 2, 40.0, 1, ()),
            TracedLine(str(app), 3, 20.0, 1, ()),
        ),
        imports=importtime.parse(stderr),
    )
    timed = (
        ImportTreeNode(
            "app", "(function)", 30.0, 70.0, (ImportTreeNode("heavy", "heavy", 40.0, 40.0),)
        ),
    )
    lines = {x.line: x for x in function_lines(trace, timed, {str(app): "(function)"}, tmp_path)}
    assert lines[1].self_ms == pytest.approx(40.0 + 0.5 * 30 / 60.5, abs=0.01)
    assert lines[2].self_ms == pytest.approx(40.0 * 30 / 60.5, abs=0.01)
    assert lines[3].self_ms == pytest.approx(20.0 * 30 / 60.5, abs=0.01)
    assert lines[2].traced_ms == 40.0 and lines[2].callee == "make"
    assert [x.line for x in function_lines(trace, timed, {}, tmp_path)] == [1, 2, 3]
