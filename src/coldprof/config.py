"""`[tool.coldprof]` from the nearest pyproject.toml above a function; flags win over it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coldprof.errors import UsageError

# Key → the type it must have. Dashes and underscores are both accepted, as in ruff and mypy.
KEYS: Mapping[str, type | tuple[type, ...]] = {
    "max-init-ms": (int, float),
    "max-dependency-ms": (int, float),
    "max-package-mb": (int, float),
    "max-regression-pct": (int, float),
    "min-regression-ms": (int, float),
    "fail-on-deferrable-ms": (int, float),
    "baseline": str,
    "runs": int,
    "handler": str,
    "installer": str,
}
# Settings a [tool.coldprof.functions.<logical id>] table may hold for one function.
FUNCTION_KEYS = (
    "max-init-ms",
    "max-dependency-ms",
    "max-package-mb",
    "max-regression-pct",
    "min-regression-ms",
    "fail-on-deferrable-ms",
)
_SECTION = re.compile(r"^\s*\[\s*tool\s*\.\s*coldprof\s*[\].]", re.MULTILINE)


@dataclass(frozen=True)
class Config:
    """The settings found, where they came from, and anything worth warning about."""

    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # [tool.coldprof.functions.<logical id>]: a project's per-function budgets.
    functions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_function(self, logical_id: str) -> Config:
        """The settings for one of a project's functions: its own table over the shared ones."""
        own = self.functions.get(logical_id)
        if not own:
            return self
        return Config(self.path, {**self.values, **own}, self.warnings, self.functions)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def path_setting(self, key: str) -> Path | None:
        """A path setting, relative to the pyproject.toml that holds it."""
        value = self.values.get(key)
        if value is None:
            return None
        path = Path(value)
        return path if path.is_absolute() or self.path is None else self.path.parent / path


def _toml_loader() -> Any:
    try:
        import tomllib  # Python 3.11+

        return tomllib
    except ModuleNotFoundError:
        pass
    try:
        import tomli  # the same parser, for Python 3.10

        return tomli
    except ModuleNotFoundError:
        return None


def candidates(start: Path) -> list[Path]:
    """pyproject.toml files from ``start`` (a directory or a file in it) up to the root."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    return [d / "pyproject.toml" for d in (here, *here.parents) if (d / "pyproject.toml").is_file()]


def load(start: Path) -> Config:
    """The nearest pyproject.toml above ``start`` that has a [tool.coldprof] table.

    On Python 3.10 without tomli the file cannot be read: say so, and go on with flags alone.
    """
    loader = _toml_loader()
    for path in candidates(start):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{path}: {e.strerror or e}") from e
        if not _SECTION.search(text):
            continue
        if loader is None:
            return Config(
                path,
                {},
                (
                    f"{path} has a [tool.coldprof] table, but this Python has no TOML parser; "
                    "it is ignored (install tomli, or use Python 3.11+)",
                ),
            )
        try:
            data = loader.loads(text)
        except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
            raise UsageError(f"{path}: not valid TOML: {e}") from e
        section = data.get("tool", {}).get("coldprof")
        if not isinstance(section, dict):
            continue
        values, warnings = _validate(path, section)
        functions: dict[str, dict[str, Any]] = {}
        for logical_id, table in (section.get("functions") or {}).items():
            where = f"[tool.coldprof.functions.{logical_id}]"
            if not isinstance(table, dict):
                raise UsageError(f"{path}: {where} must be a table of budgets")
            own, more = _validate(path, table)
            for key in set(own) - set(FUNCTION_KEYS):
                raise UsageError(f"{path}: {where} {key} is not a per-function setting")
            functions[str(logical_id)] = own
            warnings += tuple(w.replace("[tool.coldprof]", where) for w in more)
        return Config(path, values, warnings, functions)
    return Config()


def _validate(path: Path, section: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    values: dict[str, Any] = {}
    warnings = []
    for raw_key, value in section.items():
        key = raw_key.replace("_", "-")
        expected = KEYS.get(key)
        if expected is None:
            if not isinstance(value, dict):  # a sub-table is left for other commands
                warnings.append(f"{path}: [tool.coldprof] {raw_key} is not a known setting")
            continue
        if isinstance(value, bool) or not isinstance(value, expected):
            wanted = "a number" if expected == (int, float) else getattr(expected, "__name__", "")
            raise UsageError(
                f"{path}: [tool.coldprof] {raw_key} must be {wanted}, not {value!r}",
            )
        if isinstance(value, (int, float)) and value < 0:
            raise UsageError(f"{path}: [tool.coldprof] {raw_key} must not be negative")
        values[key] = value
    return values, tuple(warnings)


def pick(flag: Any, config: Config, key: str, default: Any = None) -> Any:
    """A flag when given, else the pyproject setting, else ``default``."""
    if flag is not None:
        return flag
    return config.get(key, default)
