"""The HTML reports' interactions, in headless Chromium driven by Playwright: the import chart
zooms on click and searches, the remote page's chart marks the recommended tier, the audit page
puts before and after side by side. Debian's chromium package, never a downloaded browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coldprof.audit.core import audit
from coldprof.render import OutputFormat, render
from coldprof.render.remote_html import html as remote_html
from coldprof.results.audit import Budgets
from coldprof.results.load import result_from_dict
from factories import dependency, remote_dict, result

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra)")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no /usr/bin/chromium: install Debian's chromium package (apt-get install chromium)",
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """Open an HTML text from a file: URL; afterwards, no console error may have happened
    (a script the CSP blocked, or one that threw, shows up there)."""
    pages: list[tuple[Any, list[str]]] = []

    def load(text: str, name: str = "report.html") -> Any:
        path = tmp_path / name
        path.write_text(text)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        page.goto(path.as_uri())
        pages.append((page, errors))
        return page

    yield load
    for page, errors in pages:
        assert errors == [], errors
        page.close()


def analyzed() -> Any:
    return result(
        [dependency("slowdep", [60.0, 61, 59]), dependency("basedep", [9.0, 9, 9])],
        [90.0, 92, 91, 130],
    )


def box(page: Any, module: str) -> Any:
    return page.locator(f'.icicle .box[data-module="{module}"]')


def test_a_click_zooms_on_a_module_and_a_second_click_zooms_out(open_page: Any) -> None:
    page = open_page(render(analyzed(), OutputFormat.html))
    chart = page.locator(".icicle").first
    chart_width = chart.bounding_box()["width"]
    before = box(page, "slowdep").bounding_box()["width"]
    assert before < chart_width * 0.8
    assert box(page, "basedep").is_visible()

    box(page, "slowdep").click()
    assert chart.get_attribute("data-zoomed") == "slowdep"
    assert box(page, "slowdep").bounding_box()["width"] == pytest.approx(chart_width, rel=0.03)
    assert not box(page, "basedep").is_visible()  # a sibling: outside the zoomed range
    assert box(page, "slowdep.core").is_visible()  # its child, wider now
    assert page.locator("button", has_text="Zoom out").is_enabled()

    box(page, "slowdep").click()
    assert chart.get_attribute("data-zoomed") == ""
    assert box(page, "slowdep").bounding_box()["width"] == pytest.approx(before, rel=0.03)
    assert box(page, "basedep").is_visible()


def test_zoom_out_button_and_keyboard(open_page: Any) -> None:
    page = open_page(render(analyzed(), OutputFormat.html))
    box(page, "basedep").focus()
    page.keyboard.press("Enter")
    assert page.locator(".icicle").first.get_attribute("data-zoomed") == "basedep"
    page.locator("button", has_text="Zoom out").click()
    assert page.locator(".icicle").first.get_attribute("data-zoomed") == ""


def test_search_highlights_matching_modules(open_page: Any) -> None:
    page = open_page(render(analyzed(), OutputFormat.html))
    search = page.get_by_label("Search the import tree")
    search.fill("slowdep")
    matches = page.locator(".icicle .box.match")
    assert sorted(matches.evaluate_all("els => els.map(e => e.dataset.module)")) == [
        "slowdep",
        "slowdep.core",
    ]
    assert page.locator(".icicle-status").inner_text() == "2 modules match"
    opacity = box(page, "basedep").evaluate("e => getComputedStyle(e).opacity")
    assert float(opacity) < 0.5  # the rest fades
    assert float(box(page, "slowdep").evaluate("e => getComputedStyle(e).opacity")) == 1
    search.fill("(stdlib)")  # a dependency's name finds its modules too
    assert matches.evaluate_all("els => els.map(e => e.dataset.module)") == ["json"]
    search.fill("")
    assert matches.count() == 0 and page.locator(".icicle.searching").count() == 0


def test_init_samples_are_plotted(open_page: Any) -> None:
    page = open_page(render(analyzed(), OutputFormat.html))
    dots = page.locator(".samples-plot circle.sample")
    assert dots.count() == 4
    xs = dots.evaluate_all("els => els.map(e => e.getBoundingClientRect().x)")
    assert xs[3] > max(xs[:3])  # the 130 ms run sits right of the others
    assert "Init samples" in page.inner_text("body")
    assert "90.0, 92.0" not in page.inner_text("body")  # plotted, not listed


def test_the_audit_page_shows_before_and_after_side_by_side(open_page: Any) -> None:
    run = analyzed()
    baseline = result([dependency("slowdep", [20.0, 21, 19])], [50, 51, 49])
    page = open_page(render(audit(run, Budgets(max_init_ms=60), baseline), OutputFormat.html))
    columns = page.locator(".side-by-side > div")
    assert columns.count() == 2
    left, right = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
    assert right["x"] > left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 2
    assert "baseline" in columns.nth(0).inner_text() and "this run" in columns.nth(1).inner_text()

    def bar(column: int, name: str) -> float:
        row = columns.nth(column).locator("tr", has_text=name)
        return float(row.locator(".bar-fill").bounding_box()["width"])

    # One scale for both sides: slowdep's bar is three times wider after (20 → 60 ms).
    assert bar(1, "slowdep") / bar(0, "slowdep") == pytest.approx(60 / 20, rel=0.1)


def test_the_remote_chart_marks_the_recommended_tier(open_page: Any) -> None:
    data = remote_dict()
    page = open_page(remote_html(result_from_dict(data, "remote")))
    (function,) = data["functions"]
    chart = page.locator(".pt-chart svg").first
    assert chart.is_visible()
    bars = chart.locator("rect.cost")
    assert bars.count() == len(function["tiers"])
    recommended = chart.locator("rect.cost.recommended")
    assert recommended.get_attribute("data-memory") == str(function["recommended_memory_mb"])
    assert "recommended" in (chart.text_content() or "")
    whiskers = chart.locator("line.whisker")
    assert whiskers.count() == len(function["tiers"])
    # Each whisker runs from the median up to the p90: upward on screen.
    for index in range(whiskers.count()):
        y1, y2 = (float(whiskers.nth(index).get_attribute(a)) for a in ("y1", "y2"))
        assert y2 < y1
    # Hovering a dot names its tier and times (the browser's own tooltip).
    assert "init median" in (chart.locator("circle.init").first.text_content() or "")
