"""pip against uv on real stacks: build time side by side, and whether `auto` kept uv's build.

For each function folder given (the corpus's stacks by default), one fresh build with pip and one
with `--installer auto`, alternating which goes first, each in an empty coldprof cache (the
installers' own download caches stay as they are, warm after the first stack). Reports the
distributions each build holds, which installer `auto` ended with, and why.

    python benchmarks/installers.py [--output reports/installers.md] [FOLDER ...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from coldprof.build.dependencies import BuildTarget, build_installer
from coldprof.build.handler import FunctionSource
from coldprof.build.installer import find_uv
from coldprof.build.package import build_package

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus" / "stacks"
PLATFORM = "manylinux2014_x86_64"


def build(folder: Path, installer: str) -> tuple[float, str | None, list[str], list[str]]:
    source = FunctionSource(folder.resolve(), "app.lambda_handler", "benchmark")
    target = BuildTarget(
        platform=PLATFORM,
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
        installer=installer,
    )
    cache = Path(tempfile.mkdtemp(prefix="coldprof-bench-build-"))
    try:
        notes: list[str] = []
        started = time.perf_counter()
        root = build_package(source, target=target, cache=cache, notes=notes)
        seconds = time.perf_counter() - started
        dists = sorted(p.name.removesuffix(".dist-info") for p in root.glob("*.dist-info"))
        return seconds, build_installer(root), dists, notes
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    folders = args.folders or sorted(
        p for p in CORPUS.iterdir() if (p / "requirements.txt").is_file()
    )
    if find_uv() is None:
        sys.exit("uv is not installed: pip install 'coldprof[fast]'")
    rows = []
    for index, folder in enumerate(folders):
        order = ("pip", "auto") if index % 2 == 0 else ("auto", "pip")
        results = {name: build(folder, name) for name in order}
        pip_s, _, pip_dists, _ = results["pip"]
        auto_s, used, auto_dists, notes = results["auto"]
        same = "yes" if pip_dists == auto_dists else "NO"
        why = "; ".join(notes) or "-"
        rows.append(
            f"| {folder.name} | {pip_s:.1f} | {auto_s:.1f} | {pip_s / auto_s:.1f}× | {used} | "
            f"{len(pip_dists)} | {same} | {why} |"
        )
        print(rows[-1], flush=True)
    table = [
        "| stack | pip s | auto s | speed-up | auto built with | distributions | same as pip |"
        " note |",
        "|---|---:|---:|---:|---|---:|---|---|",
        *rows,
    ]
    text = (
        "# Builds: pip against `--installer auto` (uv where it yields pip's package)\n\n"
        f"Python {sys.version.split()[0]}, target {PLATFORM}; each build in an empty coldprof "
        "cache, the installers' download caches warm; one run, pip and auto alternating "
        "first.\n\n" + "\n".join(table) + "\n"
    )
    if args.output:
        args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
