"""Parameters as users see them: plain placeholders (PATH, INTEGER), and a narrowed --format."""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import TYPE_CHECKING

from typer.core import TyperArgument

if TYPE_CHECKING:
    # typer bundles click; these are the classes its commands are made of.
    from typer._click.core import Command, Context, Parameter

# typer 0.2x shows a parameter's type name in angle brackets (`<int range>`, `<str>`) and a
# required argument in braces (`{path}`); these are the placeholders click and most CLIs print.
_PLACEHOLDERS = {
    "str": "TEXT",
    "text": "TEXT",
    "string": "TEXT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "int range": "INTEGER",
    "integer range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "PATH",
    "file": "PATH",
    "filename": "PATH",
    "directory": "PATH",
}
_DONE = "_coldprof_conventional"  # set on a command once its parameters are converted


class _PlainArgument(TyperArgument):
    """An argument shown as `PATH` (required), `[PATH]` or `[PATHS]...`."""

    def make_metavar(self, ctx: Context, *, usage: bool = False) -> str:
        name = self.metavar or (self.name or "").upper()
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"


def placeholder(param: Parameter) -> str | None:
    """The placeholder for an option's value; None for a flag, which takes none."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    choices = getattr(param.type, "choices", None)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    return _PLACEHOLDERS.get(str(param.type.name).lower(), str(param.type.name).upper())


def _narrow_choices(param: Parameter, allowed: Collection[str]) -> None:
    """Keep only ``allowed`` among a choice parameter's choices (in their order)."""
    narrowed = copy.copy(param.type)  # each parameter's own: never narrow a shared type
    choices = getattr(param.type, "choices", ())
    narrowed.choices = [c for c in choices if str(getattr(c, "value", c)) in allowed]  # type: ignore[attr-defined]
    param.type = narrowed


def conventional(command: Command, formats: Collection[str] | None = None) -> Command:
    """Give every parameter of ``command`` a plain placeholder and, when ``formats`` is given,
    narrow its `--format` to them. Done once per command object; returns the command."""
    if getattr(command, _DONE, False):
        return command
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _PlainArgument
            if param.metavar is None:  # also what "Missing argument 'PATH'" names
                param.metavar = (param.name or "").upper()
            continue
        if formats is not None and "--format" in param.opts:
            _narrow_choices(param, formats)
        if param.metavar is None and (metavar := placeholder(param)) is not None:
            param.metavar = metavar
    setattr(command, _DONE, True)
    return command
