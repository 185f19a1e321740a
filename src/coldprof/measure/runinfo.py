"""How the cold starts ran (interpreter, runtime SDK, filesystem, page cache), for the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coldprof.measure.coldstart import ColdStart
from coldprof.results.analyze import AnalyzeResult
from coldprof.runner import interpreter, lambda_fs


@dataclass(frozen=True)
class RunInfo:
    """How the cold starts ran, for the result's header and notes."""

    python: interpreter.Interpreter
    declared: tuple[str, str] | None  # (Runtime, the template declaring it)
    sdk: interpreter.RuntimeSdk
    runtime_dir: Path
    filesystem: str
    page_cache: str
    build_notes: Sequence[str]
    installer: str | None = None  # what built the package, when it was built
    # Why the cold starts ran on copies though the kernel allows Lambda's filesystem.
    filesystem_reason: str | None = None

    def apply(self, result: AnalyzeResult, starts: Sequence[ColdStart]) -> AnalyzeResult:
        declared = self.declared
        notes = list(self.build_notes)
        if declared and declared[0] != self.python.runtime:
            notes.append(
                f"the function declares {declared[0]} ({declared[1]}); it ran on Python "
                f"{self.python.version} ({self.python.origin})"
            )
        if self.filesystem == lambda_fs.COPY:
            notes.append(lambda_fs.copy_caveat(self.filesystem_reason))
        if self.page_cache == "cold":
            notes.append(
                "page cache: cold (package and layer files evicted before each cold start, "
                "as a new Lambda environment reads its code from storage)"
            )
        return replace(
            result,
            python=self.python.version,
            declared_runtime=declared[0] if declared else None,
            interpreter=recorded_path(self.python.path),
            runtime_sdk=_describe_sdk(self.sdk, self.runtime_dir),
            filesystem=self.filesystem,
            page_cache=self.page_cache,
            installer=self.installer,
            run_disk_read_bytes=tuple(s.disk_read_bytes for s in starts),
            notes=(*result.notes, *notes),
        )


def _describe_sdk(sdk: interpreter.RuntimeSdk, runtime_dir: Path) -> str:
    versions = {}
    for child in runtime_dir.glob("*.dist-info"):
        name, _, version = child.name.removesuffix(".dist-info").partition("-")
        versions[name.lower()] = version
    if not versions:  # coldprof's own packages, linked
        from coldprof.build.runtime_dir import runtime_distributions

        versions = {d.metadata["Name"].lower(): d.version for d in runtime_distributions()}
    boto3, botocore = versions.get("boto3", "?"), versions.get("botocore", "?")
    return f"boto3 {boto3}, botocore {botocore} ({sdk.origin})"


def recorded_path(path: object) -> str:
    """A path as a result records it: relative to the working directory when under it (so a
    report committed with a repository names its own files), else with ~ for the home folder.
    Code that reads one back in the same run (py-spy, import sites) expands the ~."""
    if not str(path):
        return ""
    absolute = Path(str(path)).absolute()
    for base, shown in ((Path.cwd(), None), (Path.home(), "~")):
        try:
            relative = absolute.relative_to(base)
        except ValueError:
            continue
        if shown is None:
            return str(relative) if str(relative) != "." else "."
        return f"{shown}/{relative}"
    return str(absolute)
