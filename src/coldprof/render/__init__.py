"""Output formats and the renderers registered for each (result kind, format)."""

from coldprof.render.formats import OutputFormat, format_for_path
from coldprof.render.registry import render, summary, supported

__all__ = ["OutputFormat", "format_for_path", "render", "summary", "supported"]
