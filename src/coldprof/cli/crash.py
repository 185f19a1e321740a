"""coldprof's own failures: the traceback kept in a file, one line for the user, exit 4."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from coldprof import __version__

KEEP_REPORTS = 20  # enough to compare a few crashes; the folder never grows past it


def _redacted(argv: Sequence[str]) -> list[str]:
    """The command line with --env values hidden: they are the user's environment's values."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append(arg.split("=", 1)[0] + "=…")
            hide_next = False
        elif arg == "--env":
            shown.append(arg)
            hide_next = True
        elif arg.startswith("--env="):
            shown.append(arg.split("=", 2)[0] + "=" + arg.split("=", 2)[1] + "=…")
        else:
            shown.append(arg)
    return shown


def report_text(error: BaseException, argv: Sequence[str]) -> str:
    import platform

    lines = [
        f"coldprof {__version__} · Python {platform.python_version()} · {sys.platform} "
        f"{platform.machine()}",
        "command: coldprof " + " ".join(_redacted(argv)),
        "",
        *traceback.format_exception(type(error), error, error.__traceback__),
    ]
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def save_report(text: str) -> Path | None:
    """Write the report under the cache's crashes/ (a temp dir if that cannot be written)."""
    from coldprof.build.cache import cache_root

    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for folder in (cache_root() / "crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text)
        except OSError:
            continue
        if folder.name == "crashes":
            _keep_newest(folder)
        return path
    return None


def _keep_newest(folder: Path) -> None:
    with contextlib.suppress(OSError):
        reports = sorted(folder.glob("crash-*.txt"), key=lambda p: p.stat().st_mtime)
        for old in reports[:-KEEP_REPORTS]:
            old.unlink()


def describe(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def internal_error_lines(error: BaseException, argv: Sequence[str], debug: bool) -> list[str]:
    """What the user sees: with --debug the traceback then the line; else the line, naming
    the file that holds the traceback."""
    text = report_text(error, argv)
    head = f"coldprof: internal error: {describe(error)} (a bug in coldprof, not in your function)"
    if debug:
        return [text.rstrip("\n"), head]
    saved = save_report(text)
    if saved is None:  # nowhere to keep it: print it rather than lose it
        return [text.rstrip("\n"), head]
    return [f"{head}; traceback saved to {saved} (or rerun with coldprof --debug)"]
