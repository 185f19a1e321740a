"""Pure parser: CPython ``-X importtime`` stderr text into typed rows and an import tree."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# What CPython writes (Python/import.c), one row per finished import, to stderr:
#
#   header, once:  "import time: self [us] | cumulative | imported package\n"
#   a new import:  "import time: %9ld | %10ld | %*s%s\n"  with (level*2, "", name)
#   3.14+, -X importtime=2, a module already in sys.modules, printed as the import runs:
#                  "import time: cached    | cached     | %*s\n"  with (level*2, name)
#
# Rows are post-order: an import prints when it finishes, after its children. A row also
# prints when the import raised, so an exception leaves a complete tree; only a process
# that dies mid-import (SIGKILL on an init timeout, OOM, os._exit) leaves children whose
# parents never printed.
#
# The cached format passes the *name* to "%*s", so the name is right-justified in a field
# 2*level wide rather than indented by 2*level: "re" at level 2 prints as "  re", which
# reads like depth 1, and any name at least 2*level long prints with no indent at all.
# _cached_depth below recovers what it can.
MARKER = "import time:"
_HEADER_FIRST_COLUMN = "self [us]"
_CACHED = "cached"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_DIGITS = 19  # CPython prints the times with %ld: a 64-bit C long has at most 19 digits
# A well-formed, timed row, read in one match (nearly every row); anything else takes the
# careful path in _read_fields. Group 3 is the indent, the separating space included.
_PLAIN_ROW = re.compile(r" *([0-9]{1,19}) \| *([0-9]{1,19}) \|( *)([^\s|]+)")


@dataclass(frozen=True)
class ImportRow:
    """One readable ``import time:`` row, in input order."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int
    line_no: int  # 1-based line in the input text
    cached: bool = False
    # Set when a value was repaired rather than read as-is (e.g. a negative time clamped to 0).
    note: str | None = None


@dataclass(frozen=True)
class SkippedLine:
    """A line that contains ``import time:`` but could not be read as a row."""

    line_no: int
    text: str
    reason: str


@dataclass(frozen=True)
class ImportNode:
    """One import with the imports it triggered, in the order they finished."""

    module: str
    self_us: int
    cumulative_us: int
    children: tuple[ImportNode, ...] = ()
    cached: bool = False


@dataclass(frozen=True)
class ImportTrace:
    """Everything read from one stderr stream: rows, the tree built from them, skipped lines."""

    rows: tuple[ImportRow, ...]
    roots: tuple[ImportNode, ...]  # in the order the top-level imports finished
    skipped: tuple[SkippedLine, ...]

    def modules(self) -> dict[str, ImportRow]:
        """Map each module to its first non-cached row; cached rows are not imports."""
        found: dict[str, ImportRow] = {}
        for row in self.rows:
            if not row.cached and row.module not in found:
                found[row.module] = row
        return found


@dataclass(frozen=True)
class _Fields:
    module: str
    indent: int  # spaces between the last '|' and the name, the separating space included
    self_us: int
    cumulative_us: int
    cached: bool
    note: str | None


def parse_rows(text: str) -> tuple[tuple[ImportRow, ...], tuple[SkippedLine, ...]]:
    """Read every ``import time:`` row in ``text``, skipping (with a reason) what cannot be read.

    Never raises. Lines without the marker (tracebacks, the function's own logging) are
    ignored silently; the header is ignored; lines with the marker that cannot be read are
    returned as skipped lines.
    """
    rows: list[ImportRow] = []
    skipped: list[SkippedLine] = []
    # The lowest depth a cached row can have at this point; see _cached_depth.
    level_floor = 0
    # Split on "\n" only: str.splitlines() also breaks on \x0b, \x1c, \u2028 and friends,
    # which would make line numbers disagree with what an editor shows.
    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        at = line.rfind(MARKER)
        if at < 0:
            continue
        # The last marker wins: stray output glued in front ("...partial outputimport time:")
        # may itself mention the marker, but a real row always runs to the end of its line.
        plain = _PLAIN_ROW.fullmatch(line, at + len(MARKER))
        if plain is not None:
            self_text, cumulative_text, indent, module = plain.groups()
            depth = max(len(indent) - 1, 0) // 2
            level_floor = depth
            rows.append(ImportRow(module, int(self_text), int(cumulative_text), depth, line_no))
            continue
        fields = _read_fields(line[at + len(MARKER) :])
        if fields is None:
            continue
        if isinstance(fields, str):
            skipped.append(SkippedLine(line_no=line_no, text=line, reason=fields))
            continue
        if fields.cached:
            depth = _cached_depth(fields.module, fields.indent, level_floor)
        else:
            depth = max(fields.indent - 1, 0) // 2
        level_floor = depth
        rows.append(
            ImportRow(
                module=fields.module,
                self_us=fields.self_us,
                cumulative_us=fields.cumulative_us,
                depth=depth,
                line_no=line_no,
                cached=fields.cached,
                note=fields.note,
            )
        )
    return tuple(rows), tuple(skipped)


def _read_fields(body: str) -> _Fields | str | None:
    """Read what follows the marker: fields, a reason it cannot be read, or None for the header."""
    columns = body.split("|", 2)
    if columns[0].strip() == _HEADER_FIRST_COLUMN:
        return None
    if len(columns) < 3:
        return f"expected 3 columns separated by '|', found {len(columns)}"
    self_text, cumulative_text, name_column = columns[0].strip(), columns[1].strip(), columns[2]
    module = name_column.strip()
    if not module:
        return "no module name"
    if any(ch.isspace() for ch in module):
        # Importable names practically never hold whitespace: this is prose using the marker.
        return f"module name contains whitespace: {module!r}"
    indent = len(name_column) - len(name_column.lstrip(" "))

    if self_text == _CACHED and cumulative_text == _CACHED:
        return _Fields(module, indent, 0, 0, cached=True, note=None)
    if _CACHED in (self_text, cumulative_text):
        return "one time column says 'cached' and the other does not"

    notes: list[str] = []
    self_us = _read_micros(self_text, "self", notes)
    cumulative_us = _read_micros(cumulative_text, "cumulative", notes)
    if self_us is None or cumulative_us is None:
        return "; ".join(notes)
    return _Fields(
        module, indent, self_us, cumulative_us, cached=False, note="; ".join(notes) or None
    )


def _read_micros(text: str, column: str, notes: list[str]) -> int | None:
    """Read one time column; a bad value adds a note and gives None, a negative one is clamped."""
    if not text:
        notes.append(f"no {column} time")
        return None
    if not _INTEGER.fullmatch(text):
        notes.append(f"{column} time is not a whole number: {text!r}")
        return None
    if len(text.lstrip("+-")) > _MAX_DIGITS:
        # int() refuses very long digit strings (sys.int_info.str_digits_check_threshold).
        notes.append(f"{column} time has more digits than a C long: {text[:30]!r}...")
        return None
    value = int(text)
    if value < 0:
        notes.append(f"negative {column} time {value} clamped to 0")
        return 0
    return value


def _cached_depth(module: str, indent: int, level_floor: int) -> int:
    """Recover a cached row's depth from its right-justified name (see the format note above).

    With padding, the field was exactly 2*level wide, so the depth is exact. Without padding
    the depth is lost: any level up to len(module)//2 prints the same. The import level only
    rises between printed rows (it falls only when an import finishes, which prints), so the
    lowest consistent depth is the one of the row just before. That is the guess: the cached
    module was imported by the same module as the row before it.
    """
    padding = max(indent - 1, 0)
    if padding:
        return (padding + len(module)) // 2
    return level_floor


def build_tree(rows: Sequence[ImportRow]) -> tuple[ImportNode, ...]:
    """Assemble post-order rows into trees; rows whose parent never printed become roots.

    Never raises. A row at depth d adopts, in order, every finished node deeper than d that
    has no parent yet, so a jump of several levels (a lost or skipped row) still nests.
    """
    # Pending nodes, in finish order, with their depths. Depths never decrease along the
    # stack: a row pops everything deeper than itself before it is pushed.
    pending: list[tuple[int, ImportNode]] = []
    for row in rows:
        depth = max(row.depth, 0)
        split = len(pending)
        while split and pending[split - 1][0] > depth:
            split -= 1
        children = tuple(node for _, node in pending[split:])
        del pending[split:]
        node = ImportNode(
            module=row.module,
            self_us=row.self_us,
            cumulative_us=row.cumulative_us,
            children=children,
            cached=row.cached,
        )
        pending.append((depth, node))
    # Depth-0 nodes are the top-level imports; deeper ones are orphans left by a process that
    # died before their parents finished. Both are reported, in the order they finished.
    return tuple(node for _, node in pending)


def parse(text: str) -> ImportTrace:
    """Parse ``-X importtime`` stderr text into rows, a tree and skipped lines. Never raises."""
    rows, skipped = parse_rows(text)
    return ImportTrace(rows=rows, roots=build_tree(rows), skipped=skipped)


def iter_nodes(roots: Sequence[ImportNode]) -> Iterator[tuple[ImportNode, ImportNode | None]]:
    """Yield ``(node, parent)`` pairs in pre-order; ``parent`` is None for roots."""
    # An explicit stack rather than recursion: a tree from garbage input can be very deep.
    stack: list[tuple[ImportNode, ImportNode | None]] = [(root, None) for root in reversed(roots)]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((child, node) for child in reversed(node.children))
