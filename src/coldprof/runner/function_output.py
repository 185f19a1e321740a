"""What a function printed, made readable: its own line breaks back, and only its last 64 KiB."""

from __future__ import annotations

KEEP_BYTES = 64 * 1024
# A line longer than this is not waited for: the kept text starts mid-line rather than lose it.
_LINE_SEARCH = 4096


def readable(text: str, keep_bytes: int = KEEP_BYTES) -> str:
    """``text`` with awslambdaric's record separators as line breaks, bounded to its end.

    awslambdaric writes each log record (a traceback included) as one line, its line breaks
    turned into carriage returns, so that CloudWatch keeps it as one event; on a terminal
    each line would overwrite the one before. The end is what explains a failure, so a longer
    output keeps its last ``keep_bytes`` and says how much was cut.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= keep_bytes:
        return text
    start = len(data) - keep_bytes
    newline = data.find(b"\n", start, start + _LINE_SEARCH)
    if newline >= 0:
        start = newline + 1  # start on a whole line
    kept = data[start:].decode("utf-8", "ignore")  # "ignore": a character cut in two
    return (
        f"[coldprof: the first {start:,} bytes of the function's output were cut; "
        f"its last {len(data) - start:,} bytes follow]\n{kept}"
    )
