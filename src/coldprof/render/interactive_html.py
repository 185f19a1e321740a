"""The interactive parts of the HTML reports, drawn without matplotlib.

An import icicle that zooms on click and searches, a Power-Tuning-style chart of a memory sweep,
init samples as dots, and an audit's before/after bars. One inline script serves them all; the
page's Content-Security-Policy allows exactly that script, by its hash, and nothing from the
network.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from coldprof import stats
from coldprof.results.analyze import ImportTreeNode

ROW_PX = 20

CSS = """
.icicle-tool { margin: 6px 0 10px; }
.icicle-controls { display: flex; gap: 8px; align-items: center; margin-bottom: 6px; }
.icicle-controls input { font: inherit; padding: 3px 8px; width: 22em; border: 1px solid #8c959f;
  border-radius: 6px; }
.icicle-controls button { font: inherit; padding: 3px 10px; border: 1px solid #8c959f;
  border-radius: 6px; background: #f6f8fa; cursor: pointer; }
.icicle-status { color: var(--muted); font-size: 12.5px; }
.icicle.zoomable { position: relative; display: block; }
.icicle.zoomable .box { position: absolute; height: 18px; line-height: 18px; padding: 0 3px;
  overflow: hidden; white-space: nowrap; text-overflow: ellipsis; border: 1px solid #fff;
  color: #111; cursor: zoom-in; font-size: 11px; }
.icicle.zoomable .box.focus { cursor: zoom-out; }
.icicle.searching .box { opacity: .25; }
.icicle.searching .box.match { opacity: 1; outline: 2px solid #1f2328; outline-offset: -2px; }
.pt-chart svg, .samples-plot svg { max-width: 100%; height: auto;
  font: 11px system-ui, sans-serif; }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.side-by-side h3 { font-size: 14px; margin: 4px 0; }
.bars { width: 100%; border-collapse: collapse; }
.bars td { border: 0; padding: 2px 6px; font-size: 12.5px; }
.bars .track { width: 60%; }
.bars .bar-fill { height: 12px; border-radius: 2px; }
"""

SCRIPT = """
(function () {
  "use strict";
  function setUp(tool) {
    var chart = tool.querySelector(".icicle");
    var boxes = Array.prototype.slice.call(chart.querySelectorAll(".box"));
    var total = parseFloat(chart.getAttribute("data-total"));
    var search = tool.querySelector("input");
    var status = tool.querySelector(".icicle-status");
    var reset = tool.querySelector("button");
    var focus = null;
    function zoom(box) {
      var start = box ? parseFloat(box.getAttribute("data-start")) : 0;
      var width = box ? parseFloat(box.getAttribute("data-width")) : total;
      boxes.forEach(function (b) {
        var s = parseFloat(b.getAttribute("data-start"));
        var w = parseFloat(b.getAttribute("data-width"));
        var left = Math.max(s, start), right = Math.min(s + w, start + width);
        if (right - left <= width * 1e-9) { b.hidden = true; return; }
        b.hidden = false;
        b.style.left = ((left - start) / width * 100) + "%";
        b.style.width = ((right - left) / width * 100) + "%";
        b.classList.toggle("focus", b === box);
      });
      focus = box;
      chart.setAttribute("data-zoomed", box ? box.getAttribute("data-module") : "");
      reset.disabled = !box;
    }
    function find() {
      var query = search.value.trim().toLowerCase();
      var count = 0;
      boxes.forEach(function (b) {
        var hit = query !== "" && (
          b.getAttribute("data-module").toLowerCase().indexOf(query) >= 0 ||
          b.getAttribute("data-dependency").toLowerCase().indexOf(query) >= 0);
        b.classList.toggle("match", hit);
        if (hit) { count += 1; }
      });
      chart.classList.toggle("searching", query !== "");
      status.textContent = query === "" ? "" :
        count + (count === 1 ? " module matches" : " modules match");
    }
    chart.addEventListener("click", function (event) {
      var box = event.target.closest(".box");
      if (box) { zoom(box === focus ? null : box); }
    });
    chart.addEventListener("keydown", function (event) {
      var box = event.target.closest(".box");
      if (box && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        zoom(box === focus ? null : box);
      }
    });
    reset.addEventListener("click", function () { zoom(null); });
    search.addEventListener("input", find);
    zoom(null);
  }
  document.querySelectorAll("[data-icicle]").forEach(setUp);
})();
"""

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def script_tag() -> str:
    return f"<script>{SCRIPT}</script>"


# -- the import icicle: its geometry ---------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    """One module's rectangle in the icicle: where it starts, how wide, how deep."""

    node: ImportTreeNode
    depth: int
    start: float
    width: float


def _width(node: ImportTreeNode) -> float:
    # A merged tree holds medians, so a parent's cumulative time can fall a hair short of its
    # children's sum; widen it so children always fit inside.
    return max(node.cumulative_ms, node.self_ms + sum(_width(c) for c in node.children))


def icicle_boxes(
    roots: Sequence[ImportTreeNode], min_fraction: float = 0.002
) -> tuple[list[Box], float]:
    """The boxes of an icicle chart, roots on top; boxes thinner than ``min_fraction`` of the
    total are left out (their time stays inside their parent's box)."""
    total = sum(_width(r) for r in roots)
    boxes: list[Box] = []
    if total <= 0:
        return boxes, 0.0
    limit = total * min_fraction

    def place(node: ImportTreeNode, depth: int, start: float) -> None:
        width = _width(node)
        if width < limit:
            return
        boxes.append(Box(node, depth, start, width))
        offset = start
        for child in node.children:
            place(child, depth + 1, offset)
            offset += _width(child)

    offset = 0.0
    for root in roots:
        place(root, 0, offset)
        offset += _width(root)
    return boxes, total


def node_title(node: ImportTreeNode) -> str:
    return (
        f"{node.module} ({node.dependency}): {node.cumulative_ms:,.1f} ms cumulative, "
        f"{node.self_ms:,.1f} ms self"
    )


# -- the import icicle: its boxes ------------------------------------------------------------------
def icicle(roots: Sequence[ImportTreeNode], colours: Mapping[str, str], name: str) -> str:
    """The import tree as absolutely placed boxes: click one to zoom on it (again, or "Zoom
    out", to come back); the search box highlights modules and dependencies by name."""
    boxes, total = icicle_boxes(roots)
    if not boxes:
        return '<p class="muted">No imports were recorded.</p>'
    depth = max(b.depth for b in boxes) + 1
    cells = []
    for index, box in enumerate(boxes):
        node = box.node
        colour = colours.get(node.dependency, "#999999")
        cells.append(
            f'<div class="box" tabindex="0" data-index="{index}" data-start="{box.start:.4f}" '
            f'data-width="{box.width:.4f}" data-depth="{box.depth}" '
            f'data-module="{escape(node.module)}" data-dependency="{escape(node.dependency)}" '
            f'title="{escape(node_title(node))}" style="top:{box.depth * ROW_PX}px;'
            f"left:{box.start / total * 100:.4f}%;width:{box.width / total * 100:.4f}%;"
            f'background:{escape(colour)}">{escape(node.module)}</div>'
        )
    return (
        f'<div class="icicle-tool" data-icicle id="{escape(name)}">'
        '<div class="icicle-controls">'
        '<input type="search" placeholder="Search modules or dependencies" '
        'aria-label="Search the import tree">'
        '<button type="button" disabled>Zoom out</button>'
        '<span class="icicle-status" aria-live="polite"></span></div>'
        f'<div class="icicle zoomable" role="group" aria-label="import tree" '
        f'data-total="{total:.4f}" style="height:{depth * ROW_PX + 4}px">'
        + "".join(cells)
        + '</div><p class="muted">Click a box to zoom on it; click it again to zoom out.</p></div>'
    )


# -- small SVG charts -------------------------------------------------------------------------
def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def samples_plot(samples: Sequence[float], label: str = "init ms") -> str:
    """Each sample as a dot on one axis, the median as a line: the spread at a glance."""
    if not samples:
        return ""
    width, height, pad = 640, 70, 30
    low, high = min(samples), max(samples)
    span = high - low or max(high, 1.0) * 0.1
    low, high = low - span * 0.05, high + span * 0.05

    def x(value: float) -> float:
        return pad + (value - low) / (high - low) * (width - 2 * pad)

    ordered = sorted(samples)
    median = stats.median(ordered)
    dots = "".join(
        f'<circle class="sample" cx="{x(v):.1f}" cy="{28 + (i % 3 - 1) * 6}" r="4" '
        f'fill="#4e79a7" fill-opacity=".75"><title>run {i + 1}: {v:,.1f} ms</title></circle>'
        for i, v in enumerate(samples)
    )
    return (
        f'<div class="samples-plot"><svg viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" '
        f'aria-label="{escape(label)}: {len(samples)} samples">'
        f'<line x1="{pad}" x2="{width - pad}" y1="48" y2="48" stroke="#8c959f"/>'
        f'<line class="median" x1="{x(median):.1f}" x2="{x(median):.1f}" y1="12" y2="48" '
        f'stroke="#1f2328" stroke-dasharray="3 2"/>'
        f'<text x="{x(median):.1f}" y="10" text-anchor="middle">median {median:,.1f}</text>'
        f"{dots}"
        f'<text x="{pad}" y="64">{ordered[0]:,.1f} ms</text>'
        f'<text x="{width - pad}" y="64" text-anchor="end">{ordered[-1]:,.1f} ms</text>'
        "</svg></div>"
    )


def power_tuning_chart(function: Mapping[str, Any]) -> str:
    """One function's sweep, as AWS Lambda Power Tuning draws it: per memory tier, the cost of
    a million cold invocations (bars, left axis) and the init median (dots, right axis) with a
    whisker up to its p90; the recommended tier is marked."""
    tiers = [t for t in function.get("tiers") or () if t.get("memory_mb")]
    if not tiers:
        return ""
    recommended = function.get("recommended_memory_mb")
    width, height = 640, 260
    left, right, top, bottom = 60, 70, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    costs = [float((t.get("cost_usd_per_million") or {}).get("cold") or 0) for t in tiers]
    inits = [(t.get("init_ms") or {}) for t in tiers]
    cost_max = _nice_max(max(costs, default=0))
    init_max = _nice_max(
        max((float(i.get("p90") or i.get("median") or 0) for i in inits), default=0)
    )
    step = plot_w / len(tiers)
    parts = [
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#8c959f"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">${cost_max:,.2f}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">$0</text>',
        f'<text x="{left + plot_w + 6}" y="{top + 4}">{init_max:,.0f} ms</text>',
        f'<text x="{left + plot_w + 6}" y="{top + plot_h}">0 ms</text>',
        f'<text x="12" y="{top + plot_h / 2}" transform="rotate(-90 12 {top + plot_h / 2})" '
        'text-anchor="middle">$ per 1M cold invocations</text>',
        f'<text x="{width - 14}" y="{top + plot_h / 2}" '
        f'transform="rotate(90 {width - 14} {top + plot_h / 2})" text-anchor="middle">'
        "init ms (median, whisker to p90)</text>",
    ]
    for index, (tier, cost, init) in enumerate(zip(tiers, costs, inits, strict=True)):
        memory = int(tier["memory_mb"])
        centre = left + step * (index + 0.5)
        bar_h = cost / cost_max * plot_h
        is_best = memory == recommended
        parts.append(
            f'<rect class="cost{" recommended" if is_best else ""}" data-memory="{memory}" '
            f'x="{centre - step * 0.3:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{step * 0.6:.1f}" height="{bar_h:.1f}" '
            f'fill="{"#59a14f" if is_best else "#a0cbe8"}">'
            f"<title>{memory} MB: ${cost:,.2f} per 1M cold invocations</title></rect>"
        )
        label = f"{memory} MB" + (" ★" if is_best else "")
        weight = ' font-weight="bold"' if is_best else ""
        parts.append(
            f'<text x="{centre:.1f}" y="{top + plot_h + 16}" text-anchor="middle"{weight}>'
            f"{escape(label)}</text>"
        )
        if is_best:
            parts.append(
                f'<text x="{centre:.1f}" y="{top + plot_h + 32}" text-anchor="middle" '
                'class="recommended-label">recommended</text>'
            )
        median, p90 = init.get("median"), init.get("p90")
        if median is None:
            continue
        y_median = top + plot_h - float(median) / init_max * plot_h
        if p90 is not None:
            y_p90 = top + plot_h - float(p90) / init_max * plot_h
            parts.append(
                f'<line class="whisker" x1="{centre:.1f}" x2="{centre:.1f}" '
                f'y1="{y_median:.1f}" y2="{y_p90:.1f}" stroke="#e15759" stroke-width="1.5"/>'
                f'<line x1="{centre - 5:.1f}" x2="{centre + 5:.1f}" y1="{y_p90:.1f}" '
                f'y2="{y_p90:.1f}" stroke="#e15759" stroke-width="1.5"/>'
            )
        p90_text = f", p90 {float(p90):,.1f} ms" if p90 is not None else ""
        parts.append(
            f'<circle class="init" cx="{centre:.1f}" cy="{y_median:.1f}" r="4.5" fill="#e15759">'
            f"<title>{memory} MB: init median {float(median):,.1f} ms{p90_text}</title></circle>"
        )
    return (
        f'<div class="pt-chart"><svg viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" '
        f'aria-label="cost and init per memory tier">{"".join(parts)}</svg></div>'
    )


def before_after(rows: Sequence[tuple[str, float, float]], before: str, after: str) -> str:
    """Two bar lists side by side, one scale for both: each row's figure before and after."""
    if not rows:
        return ""
    peak = max(max(b, a) for _, b, a in rows) or 1.0

    def column(title: str, index: int, colour: str) -> str:
        lines = []
        for name, *values in rows:
            value = values[index]
            lines.append(
                f'<tr><td>{escape(name)}</td><td class="track"><div class="bar-fill" '
                f'style="width:{value / peak * 100:.2f}%;background:{colour}"></div></td>'
                f'<td class="num">{value:,.1f} ms</td></tr>'
            )
        return f'<div><h3>{escape(title)}</h3><table class="bars">{"".join(lines)}</table></div>'

    return (
        '<div class="side-by-side">'
        + column(before, 0, "#a0cbe8")
        + column(after, 1, "#4e79a7")
        + "</div>"
    )
