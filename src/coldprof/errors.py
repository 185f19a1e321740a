"""The exceptions coldprof raises, each carrying the exit code the CLI maps it to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coldprof.results.analyze import AnalyzeResult

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERNAL = 4  # coldprof's own bug: never mistaken for findings or the function failing


class ColdprofError(Exception):
    """Base class: a one-line message for the user, an optional hint, and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # another tool's own explanation (pip's), shown as that tool's


class UsageError(ColdprofError):
    """The user asked for something that cannot be done as asked (bad path, bad option)."""

    exit_code = EXIT_USAGE


class HandlerNotFoundError(UsageError):
    """No handler could be found or resolved in the function directory."""


class BuildError(ColdprofError):
    """Building the function's package (pip install --target) failed."""


class FunctionInitError(ColdprofError):
    """The function failed during init: it raised, exited, crashed or ran past the init limit.

    ``function_output`` holds what the function itself printed (its own traceback), shown as
    the function's, not as coldprof's.
    """

    def __init__(
        self,
        message: str,
        function_output: str = "",
        hint: str | None = None,
        partial: AnalyzeResult | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.function_output = function_output
        self.partial = partial


class EnvironmentFailure(ColdprofError):
    """The local execution environment could not be set up or talked to."""


class AwsError(ColdprofError):
    """A call to the Lambda API failed."""
