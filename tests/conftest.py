"""Shared fixtures: an isolated coldprof cache, and small installed packages built in tmp dirs."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_functions"
ASSETS = Path(__file__).resolve().parent / "assets"


def pytest_configure(config: pytest.Config) -> None:
    # A function runs in Lambda's filesystem, with an empty /tmp of its own: tests that hand it
    # files (tmp_path) keep them outside /tmp, in the repository's .cache/.
    if config.option.basetemp is None:
        config.option.basetemp = str(REPO / ".cache" / "pytest-tmp")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache() -> None:
    """Builds, the runtime dir and size caches go to .cache/ in the repo, never the user's cache.

    It outlives a session so a second `make test` does not pip install numpy again.
    """
    cache = REPO / ".cache" / "coldprof-tests"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["COLDPROF_CACHE_DIR"] = str(cache)
    # Dummy credentials: nothing in the tests may reach AWS.
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)


def _record_line(root: Path, relative: str) -> str:
    data = (root / relative).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{relative},sha256={digest},{len(data)}"


def install_distribution(
    site: Path, name: str, files: Mapping[str, str], version: str = "1.0"
) -> Path:
    """Write ``files`` into ``site`` as pip would, with a dist-info and its RECORD."""
    written = []
    for relative, content in files.items():
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content))
        written.append(relative)
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
    )
    (dist_info / "INSTALLER").write_text("pip\n")
    meta = [f"{dist_info.name}/METADATA", f"{dist_info.name}/INSTALLER"]
    lines = [_record_line(site, r) for r in written + meta]
    lines.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(lines) + "\n")
    return dist_info


def busy_module(ms: float, imports: str = "") -> str:
    """Module source that busy-waits ``ms`` of CPU at import (ground truth for timing tests)."""
    return (
        f"{imports}\n"
        "import time as _t\n"
        "_end = _t.perf_counter() + %r\n"
        "while _t.perf_counter() < _end:\n"
        "    pass\n" % (ms / 1000)
    )


@pytest.fixture
def make_function(tmp_path: Path) -> Callable[..., Path]:
    """Build a function directory: handler code plus installed distributions."""

    def make(
        handler_source: str = "def lambda_handler(event, context):\n    return {'ok': True}\n",
        module: str = "lambda_function",
        distributions: Mapping[str, Mapping[str, str]] | None = None,
        extra_files: Mapping[str, str] | None = None,
        name: str = "fn",
    ) -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        (root / f"{module}.py").write_text(textwrap.dedent(handler_source))
        for dist_name, files in (distributions or {}).items():
            install_distribution(root, dist_name, files)
        for relative, content in (extra_files or {}).items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(textwrap.dedent(content))
        return root

    return make


def coldprof_cmd(*args: str) -> list[str]:
    """The installed CLI, run as a real subprocess."""
    return [sys.executable, "-m", "coldprof", *args]
