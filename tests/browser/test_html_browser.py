"""The HTML reports in a real browser: headless Chromium loads them with no console errors.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on
fd 3, replies on fd 4, NUL-separated JSON), so the test needs no port and no extra package.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coldprof.audit.core import audit
from coldprof.render import OutputFormat, page_html, render
from coldprof.render.remote_html import html as remote_html
from coldprof.results.audit import Budgets
from coldprof.results.load import result_from_dict
from factories import dependency, remote_dict, result

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no headless Chromium: install Debian's chromium package (apt-get install chromium)",
)
CONSOLE_EVENTS = ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")


class Browser:
    """Just enough of the DevTools protocol: open a tab, load a page, collect its complaints."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_fds() -> None:  # the child's fd 3 and 4 are the protocol pipe
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=wire_fds,
            start_new_session=True,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=self.session)

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                return None
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(60)
            if reply is None:
                raise TimeoutError(f"no reply to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def load(self, url: str) -> list[dict[str, Any]]:
        """Navigate, wait for the load event and a moment more; return console complaints."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, self.session)
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            event = self._receive(max(0.0, deadline - time.monotonic()))
            if event is None:
                raise TimeoutError(f"{url} did not finish loading")
            self.events.append(event)
        while (event := self._receive(0.3)) is not None:
            self.events.append(event)
        return [e for e in self.events if e.get("method") in CONSOLE_EVENTS]

    def evaluate(self, expression: str) -> Any:
        reply = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session
        )
        return reply["result"].get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    assert BROWSER is not None
    session = Browser(BROWSER, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield session
    finally:
        session.close()


def pages(directory: Path, with_plots: bool) -> dict[str, Path]:
    run = result(
        [dependency("slowdep", [60.0, 61, 59]), dependency("basedep", [9.0, 9, 9])], [90, 92, 91]
    )
    baseline = result([dependency("slowdep", [20.0, 21, 19])], [50, 51, 49])
    texts = {
        "analyze": render(run, OutputFormat.html),
        "audit": render(audit(run, Budgets(max_init_ms=60), baseline), OutputFormat.html),
        "remote": remote_html(result_from_dict(remote_dict(), "remote")),
    }
    paths = {}
    for kind, text in texts.items():
        assert ("coldprof[plot]" in text) is (kind == "remote" and not with_plots)
        paths[kind] = directory / f"{kind}-{'plots' if with_plots else 'boxes'}.html"
        paths[kind].write_text(text)
    return paths


def check_page(browser: Browser, path: Path, kind: str) -> None:
    complaints = browser.load(path.as_uri())
    assert complaints == [], json.dumps(complaints, indent=1)[:2000]
    dom = browser.evaluate("document.documentElement.outerHTML")
    assert "<table>" in dom
    charts = browser.evaluate("document.querySelectorAll('.chart svg, .icicle').length")
    if kind == "remote":
        assert "Init and cold penalty" in dom
    else:
        assert charts >= 1, "no import tree chart in the page"
        # The chart has a drawn size: it rendered, not just parsed.
        height = browser.evaluate(
            "Math.max(...[...document.querySelectorAll('.chart svg, .icicle')]"
            ".map(e => e.getBoundingClientRect().height))"
        )
        assert height > 40
        assert "slowdep" in browser.evaluate("document.body.innerText")


@pytest.mark.parametrize("kind", ["analyze", "audit", "remote"])
def test_html_with_matplotlib_charts_loads_cleanly(
    kind: str, browser: Browser, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra (matplotlib) is not installed")
    check_page(browser, pages(tmp_path, with_plots=True)[kind], kind)


@pytest.mark.parametrize("kind", ["analyze", "audit", "remote"])
def test_html_without_matplotlib_loads_cleanly(
    kind: str, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_html, "plotting_available", lambda: False)
    check_page(browser, pages(tmp_path, with_plots=False)[kind], kind)


def test_the_harness_sees_console_errors_and_network_use(browser: Browser, tmp_path: Path) -> None:
    """A check that cannot fail proves nothing: a broken page must be caught."""
    thrown = tmp_path / "throws.html"
    thrown.write_text("<!DOCTYPE html><title>x</title><script>throw new Error('boom')</script>")
    assert any(e["method"] == "Runtime.exceptionThrown" for e in browser.load(thrown.as_uri()))
    fetches = tmp_path / "fetches.html"
    fetches.write_text(page_html.page("x", ['<img src="http://example.invalid/logo.png" alt="">']))
    complaints = browser.load(fetches.as_uri())
    assert any("Content Security Policy" in json.dumps(e) for e in complaints)
