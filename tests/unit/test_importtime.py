"""Tests for coldprof.measure.importtime against captured and hand-written -X importtime text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from coldprof.measure.importtime import (
    ImportNode,
    ImportRow,
    ImportTrace,
    build_tree,
    iter_nodes,
    parse,
    parse_rows,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "importtime"
REAL_CAPTURES = sorted(p.name for p in ASSETS.glob("py3*.txt") if "handwritten" not in p.name)
JSON_EMAIL_CAPTURES = [name for name in REAL_CAPTURES if name.endswith("_json_email.txt")]


def read_asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def root(trace: ImportTrace, module: str) -> ImportNode:
    matches = [node for node in trace.roots if node.module == module]
    assert len(matches) == 1, [node.module for node in trace.roots]
    return matches[0]


def child_names(node: ImportNode) -> list[str]:
    return [child.module for child in node.children]


def row_line(module: str, self_us: int | str, cumulative_us: int | str, depth: int = 0) -> str:
    """One row laid out the way CPython prints it (Python/import.c)."""
    return f"import time: {self_us:>9} | {cumulative_us:>10} | {'  ' * depth}{module}"


# --- real captured output ---------------------------------------------------------------


def test_assets_are_present() -> None:
    # Guards the parametrized tests below against silently running over zero files.
    assert len(JSON_EMAIL_CAPTURES) == 3
    assert "py312_killed_mid_import.txt" in REAL_CAPTURES


@pytest.mark.parametrize("name", JSON_EMAIL_CAPTURES)
def test_real_capture_reads_every_row(name: str) -> None:
    text = read_asset(name)
    trace = parse(text)

    marker_lines = [line for line in text.splitlines() if "import time:" in line]
    assert trace.skipped == ()
    assert len(trace.rows) == len(marker_lines) - 1  # all but the header
    for row in trace.rows:
        line = text.split("\n")[row.line_no - 1]
        assert line.endswith(" " + "  " * row.depth + row.module)


@pytest.mark.parametrize("name", REAL_CAPTURES)
def test_the_fast_path_reads_rows_as_the_careful_path_does(name: str) -> None:
    """Well-formed rows are read by one regular expression; every other line, and a row
    with a stray character added, by the field-by-field reader. Both must agree."""
    text = read_asset(name)
    fast, _ = parse_rows(text)
    assert fast
    # A trailing tab makes no difference to the careful reader, but the fast one refuses it.
    careful, _ = parse_rows(
        "\n".join(f"{line}\t" if "|" in line else line for line in text.split("\n"))
    )
    assert fast == careful


@pytest.mark.parametrize("name", JSON_EMAIL_CAPTURES)
def test_real_capture_json_tree(name: str) -> None:
    trace = parse(read_asset(name))

    json = root(trace, "json")
    assert child_names(json) == ["json.decoder", "json.encoder"]
    decoder = json.children[0]
    assert "json.scanner" in child_names(decoder)
    email_mime_text = root(trace, "email.mime.text")
    assert "email.mime.nonmultipart" in child_names(email_mime_text)
    # The order of the two top-level imports in `import json, email.mime.text` is kept.
    top = [node.module for node in trace.roots]
    assert top.index("json") < top.index("email.mime.text")


@pytest.mark.parametrize("name", REAL_CAPTURES)
def test_real_capture_cumulative_is_self_plus_children(name: str) -> None:
    trace = parse(read_asset(name))

    checked = 0
    for node, _ in iter_nodes(trace.roots):
        if not node.children:
            assert node.cumulative_us == node.self_us
            continue
        children_us = sum(child.cumulative_us for child in node.children)
        # CPython rounds each printed figure up to a whole microsecond on its own.
        slack = len(node.children) + 1
        assert abs(node.cumulative_us - (node.self_us + children_us)) <= slack, node.module
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("name", REAL_CAPTURES)
def test_real_capture_every_row_is_in_the_tree_once(name: str) -> None:
    trace = parse(read_asset(name))

    in_tree = [node.module for node, _ in iter_nodes(trace.roots)]
    assert sorted(in_tree) == sorted(row.module for row in trace.rows)


# --- noise ------------------------------------------------------------------------------


def test_text_glued_before_the_marker_real_capture() -> None:
    # Captured: sys.stderr.write("partial output") without a newline, then `import json`.
    text = read_asset("py311_partial_stderr_write.txt")
    glued_line_no = next(
        n for n, line in enumerate(text.split("\n"), 1) if line.startswith("partial output")
    )
    trace = parse(text)

    assert trace.skipped == ()
    glued = [row for row in trace.rows if row.line_no == glued_line_no]
    assert [(row.module, row.depth) for row in glued] == [("_json", 3)]
    json = root(trace, "json")
    assert child_names(json) == ["json.decoder", "json.encoder"]
    assert child_names(json.children[0]) == ["json.scanner"]
    assert child_names(json.children[0].children[0]) == ["_json"]


def test_marker_inside_the_glued_text_uses_the_last_marker() -> None:
    text = "WARN slow import time: high " + row_line("foo", 12, 12) + "\n"
    rows, skipped = parse_rows(text)

    assert skipped == ()
    assert [(row.module, row.self_us, row.line_no) for row in rows] == [("foo", 12, 1)]


def test_header_is_not_a_row_and_not_skipped() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            row_line("a", 1, 1),
            "noiseimport time: self [us] | cumulative | imported package",
        ]
    )
    rows, skipped = parse_rows(text)

    assert [row.module for row in rows] == ["a"]
    assert skipped == ()


def test_traceback_lines_are_ignored_real_capture() -> None:
    # Captured on 3.13: raisepkg imports raisepkg.bad, which raises. Printing the traceback
    # imports more modules, and their rows land in the middle of the traceback text.
    text = read_asset("py313_raise_in_submodule.txt")
    trace = parse(text)

    assert "Traceback (most recent call last):" in text
    assert trace.skipped == ()
    # A failed import still prints its row, so the tree up to the failure is complete.
    raisepkg = root(trace, "raisepkg")
    assert child_names(raisepkg) == ["json", "raisepkg.good", "raisepkg.bad"]
    assert child_names(raisepkg.children[2]) == ["string"]
    top = [node.module for node in trace.roots]
    assert top[top.index("raisepkg") + 1 :] == ["traceback", "tokenize", "ast"]


def test_negative_times_are_clamped_with_a_note() -> None:
    text = "\n".join([row_line("child", -3, -3, depth=1), row_line("parent", 40, -12)])
    trace = parse(text)

    child, parent = trace.rows
    assert (child.self_us, child.cumulative_us) == (0, 0)
    assert (
        child.note == "negative self time -3 clamped to 0; negative cumulative time -3 clamped to 0"
    )
    assert (parent.self_us, parent.cumulative_us, parent.note) == (
        40,
        0,
        "negative cumulative time -12 clamped to 0",
    )
    assert trace.skipped == ()
    assert child_names(root(trace, "parent")) == ["child"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("import time:   abc |   12 | foo", "self time is not a whole number: 'abc'"),
        ("import time:   12 |  1.5 | foo", "cumulative time is not a whole number: '1.5'"),
        ("import time:      |   12 | foo", "no self time"),
        ("import time:   12 |   12", "expected 3 columns separated by '|', found 2"),
        ("import time:   12", "expected 3 columns separated by '|', found 1"),
        ("import time:", "expected 3 columns separated by '|', found 1"),
        ("import time:   12 |   12 |    ", "no module name"),
        (
            "import time:   12 |   12 | is too slow",
            "module name contains whitespace: 'is too slow'",
        ),
        (
            "import time: cached |   12 | foo",
            "one time column says 'cached' and the other does not",
        ),
        (
            "import time: 12345678901234567890 | 1 | foo",
            "self time has more digits than a C long: '12345678901234567890'...",
        ),
    ],
)
def test_unreadable_rows_are_skipped_with_line_numbers(line: str, reason: str) -> None:
    text = "\n".join(
        ["hello from the handler", row_line("before", 5, 5), line, row_line("after", 7, 7)]
    )
    trace = parse(text)

    assert [(s.line_no, s.text, s.reason) for s in trace.skipped] == [(3, line, reason)]
    assert [(row.module, row.line_no) for row in trace.rows] == [("before", 2), ("after", 4)]
    assert [node.module for node in trace.roots] == ["before", "after"]


def test_line_numbers_count_newlines_only() -> None:
    # \r\n endings are read; \x0c and \u2028 do not start a new line for numbering.
    text = "one\r\ntwo\x0cstill two\u2028still two\r\nimport time: x | 1 | bad\r\n" + row_line(
        "ok", 1, 1
    )
    trace = parse(text)

    assert [(s.line_no, s.text) for s in trace.skipped] == [(3, "import time: x | 1 | bad")]
    assert [(row.module, row.line_no) for row in trace.rows] == [("ok", 4)]


# --- cached rows (Python 3.14, -X importtime=2) -----------------------------------------


def test_cached_rows_handwritten_314() -> None:
    # Hand-written from the 3.14 format: cached names are right-justified, not indented.
    trace = parse(read_asset("py314_importtime2_handwritten.txt"))

    assert trace.skipped == ()
    cached = [(row.module, row.depth) for row in trace.rows if row.cached]
    # "  re" is at depth 2 (a 4-wide field), not 1; unpadded names take the depth before them.
    assert cached == [
        ("re", 2),
        ("json", 2),
        ("re", 3),
        ("_json", 2),
        ("re", 2),
        ("_json", 2),
        ("os", 0),
    ]
    assert all(row.self_us == row.cumulative_us == 0 for row in trace.rows if row.cached)

    pairs = [
        (node.module, node.cached, parent.module if parent else None)
        for node, parent in iter_nodes(trace.roots)
    ]
    assert pairs == [
        ("json", False, None),
        ("json.decoder", False, "json"),
        ("re", True, "json.decoder"),
        ("json", True, "json.decoder"),
        ("json.scanner", False, "json.decoder"),
        ("re", True, "json.scanner"),
        ("_json", False, "json.scanner"),
        ("_json", True, "json.decoder"),
        ("json.encoder", False, "json"),
        ("re", True, "json.encoder"),
        ("_json", True, "json.encoder"),
        ("os", True, None),
    ]


def test_cached_rows_add_no_time_and_are_not_modules() -> None:
    trace = parse(read_asset("py314_importtime2_handwritten.txt"))

    modules = trace.modules()
    assert sorted(modules) == ["_json", "json", "json.decoder", "json.encoder", "json.scanner"]
    assert not any(row.cached for row in modules.values())
    assert modules["json"].line_no == 12  # not the cached "json" row on line 3
    assert modules["_json"].depth == 3
    # Hand-written figures are exact, so the sums are too: cached children count zero.
    for node, _ in iter_nodes(trace.roots):
        if not node.cached:
            children_us = sum(child.cumulative_us for child in node.children)
            assert node.cumulative_us == node.self_us + children_us, node.module


# --- truncated output -------------------------------------------------------------------


def test_orphans_after_a_killed_import_real_capture() -> None:
    # Captured: killpkg imports json, killpkg.good, then killpkg.dies, which imports signal
    # and string, then killpkg.deeper, which imports textwrap and SIGKILLs its own process.
    trace = parse(read_asset("py312_killed_mid_import.txt"))

    assert trace.skipped == ()
    modules = trace.modules()
    assert "killpkg" not in modules and "killpkg.dies" not in modules
    top = [node.module for node in trace.roots]
    orphans = top[top.index("site") + 1 :]
    assert orphans == ["json", "killpkg.good", "signal", "string", "textwrap"]
    assert [modules[name].depth for name in orphans] == [1, 1, 2, 2, 3]
    assert child_names(root(trace, "json")) == ["json.decoder", "json.encoder"]
    assert child_names(root(trace, "string")) == ["_string"]


def test_orphans_keep_their_order_and_subtrees() -> None:
    # The output stops before the depth-0 parent of "a" and "b" finishes.
    rows, _ = parse_rows(
        "\n".join(
            [
                row_line("a.x", 1, 1, depth=2),
                row_line("a", 2, 3, depth=1),
                row_line("b.y", 4, 4, depth=3),
                row_line("b", 5, 9, depth=2),
            ]
        )
    )
    roots = build_tree(rows)

    assert [(node.module, child_names(node)) for node in roots] == [
        ("a", ["a.x"]),
        ("b", ["b.y"]),
    ]


def test_depth_jump_nests_under_the_next_shallower_row() -> None:
    rows, _ = parse_rows(
        "\n".join(
            [
                row_line("deep", 1, 1, depth=3),  # its depth-2 parent never printed
                row_line("top.child", 1, 2, depth=1),
                row_line("jumped", 1, 1, depth=3),
                row_line("top", 1, 5, depth=0),
            ]
        )
    )
    roots = build_tree(rows)

    assert [node.module for node in roots] == ["top"]
    assert child_names(roots[0]) == ["top.child", "jumped"]
    assert child_names(roots[0].children[0]) == ["deep"]


# --- robustness -------------------------------------------------------------------------


def test_empty_input() -> None:
    assert parse("") == ImportTrace(rows=(), roots=(), skipped=())
    assert build_tree([]) == ()
    assert list(iter_nodes(())) == []


def test_iter_nodes_is_preorder_with_parents() -> None:
    leaf = ImportNode("a.b.c", 1, 1)
    mid = ImportNode("a.b", 1, 2, children=(leaf,))
    sibling = ImportNode("a.d", 1, 1)
    top = ImportNode("a", 1, 4, children=(mid, sibling))
    other = ImportNode("z", 1, 1)

    assert [(n.module, p.module if p else None) for n, p in iter_nodes((top, other))] == [
        ("a", None),
        ("a.b", "a"),
        ("a.b.c", "a.b"),
        ("a.d", "a"),
        ("z", None),
    ]


def test_very_deep_tree_does_not_recurse() -> None:
    count = 5000
    rows = [
        ImportRow(f"m{d}", 1, count - d, depth=d, line_no=count - d) for d in reversed(range(count))
    ]
    roots = build_tree(rows)

    assert [node.module for node in roots] == ["m0"]
    assert sum(1 for _ in iter_nodes(roots)) == count


def test_negative_depth_rows_from_callers_are_roots() -> None:
    rows = [
        ImportRow("odd", 1, 1, depth=-4, line_no=1),
        ImportRow("fine", 1, 1, depth=0, line_no=2),
    ]
    assert [node.module for node in build_tree(rows)] == ["odd", "fine"]


NASTY_LINES = [
    "import time:",
    "import time:||",
    "import time:|||||",
    "import time: | | ",
    "import time: cached | cached | ",
    "import time: cached    | cached     |" + " " * 500 + "x",
    "import time: -0 | +0 | zero",
    "import time: 1 | 2 | \x00nul",
    "import time: 1 | 2 | \udcffsurrogate",
    "import time: ١٢ | ٣ | arabic_digits",
    "import time: " + "9" * 5000 + " | 1 | huge",
    "import time: self [us] | cumulative",
    "import time:import time:import time:",
    "\x1b[31mimport time:       1 |          1 | colored",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
]


def test_never_raises_on_garbage() -> None:
    generator = random.Random(20240601)
    alphabet = [
        "import time:",
        "|",
        " ",
        "  ",
        "cached",
        "-",
        "7",
        "12",
        "a.b",
        "\t",
        "\r",
        "\n",
        "é",
    ]
    texts = ["\n".join(NASTY_LINES)]
    for _ in range(300):
        texts.append("".join(generator.choice(alphabet) for _ in range(generator.randint(0, 60))))
        texts.append(
            "\n".join(generator.sample(NASTY_LINES, k=generator.randint(1, len(NASTY_LINES))))
        )

    for text in texts:
        trace = parse(text)
        assert all(
            row.self_us >= 0 and row.cumulative_us >= 0 and row.depth >= 0 for row in trace.rows
        )
        assert sum(1 for _ in iter_nodes(trace.roots)) == len(trace.rows)
        assert all(skip.line_no >= 1 for skip in trace.skipped)


def test_garbage_lines_get_the_expected_outcome() -> None:
    trace = parse("\n".join(NASTY_LINES))

    assert [(row.module, row.line_no) for row in trace.rows] == [
        ("x", 6),
        ("zero", 7),
        ("\x00nul", 8),
        ("\udcffsurrogate", 9),
        ("colored", 14),
    ]
    assert [skip.line_no for skip in trace.skipped] == [1, 2, 3, 4, 5, 10, 11, 13]
    # A header cut short is still the header; plain traceback text is not a skipped line.
    assert 12 not in [skip.line_no for skip in trace.skipped]
