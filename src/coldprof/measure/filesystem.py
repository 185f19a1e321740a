"""The filesystem the measured cold starts run on: Lambda's, or read-only copies of the folders."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from coldprof.runner import lambda_fs
from coldprof.runner.spec import EnvironmentSpec


@contextlib.contextmanager
def measured_filesystem(spec: EnvironmentSpec, mode: str) -> Iterator[EnvironmentSpec]:
    """The spec the measured cold starts run with: in Lambda's filesystem, or on read-only
    copies of the package and layers (never the user's folders)."""
    if mode == lambda_fs.LAMBDA:
        yield replace(spec, filesystem=mode)
        return
    scratch = Path(tempfile.mkdtemp(prefix="coldprof-copy-"))
    try:
        task_root = lambda_fs.read_only_copy(spec.task_root, scratch / "task")
        layers = tuple(
            lambda_fs.read_only_copy(layer, scratch / f"layer{i}")
            for i, layer in enumerate(spec.layers)
        )
        yield replace(spec, filesystem=mode, task_root=task_root, layers=layers)
    finally:
        lambda_fs.remove_read_only(scratch)


def relocate(path: str, moves: Sequence[tuple[Path, Path]]) -> str:
    """``path`` under the first of ``moves``' old folders, moved to its new one."""
    for old, new in moves:
        prefix = str(old)
        if path == prefix or path.startswith(prefix + os.sep):
            return str(new) + path[len(prefix) :]
    return path
