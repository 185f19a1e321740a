"""Synthetic results with known numbers, for tests of the pure audit and the renderers."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from coldprof.results.analyze import (
    AnalyzeResult,
    DependencyCost,
    ImportTreeNode,
    PackageSummary,
    SampleStats,
)

HANDLER_MODULE = "lambda_function"


def dependency(
    name: str,
    self_samples: Sequence[float],
    inclusive_samples: Sequence[float] | None = None,
    kind: str = "third-party",
    version: str | None = "1.0",
    unzipped: int = 100_000,
    zipped: int = 40_000,
    modules: int = 3,
) -> DependencyCost:
    inclusive = tuple(inclusive_samples if inclusive_samples is not None else self_samples)
    return DependencyCost(
        name=name,
        kind=kind,
        version=version if kind == "third-party" else None,
        self_ms=round(statistics.median(self_samples), 3),
        inclusive_ms=round(statistics.median(inclusive), 3),
        modules=modules,
        unzipped_bytes=unzipped if kind == "third-party" else 0,
        zipped_bytes=zipped if kind == "third-party" else 0,
        self_ms_samples=tuple(self_samples),
        inclusive_ms_samples=inclusive,
    )


def tree(deps: Sequence[DependencyCost]) -> tuple[ImportTreeNode, ...]:
    """The runtime's own imports, then the handler module importing each third-party dep."""
    runtime = ImportTreeNode(
        "awslambdaric",
        "awslambdaric",
        5.0,
        20.0,
        (ImportTreeNode("json", "(stdlib)", 15.0, 15.0),),
    )
    children = tuple(
        ImportTreeNode(
            d.name.replace("-", "_"),
            d.name,
            d.self_ms,
            d.inclusive_ms,
            (ImportTreeNode(f"{d.name.replace('-', '_')}.core", d.name, 0.5, 0.5),),
        )
        for d in deps
        if d.kind == "third-party"
    )
    total = 1.0 + sum(c.cumulative_ms for c in children)
    handler = ImportTreeNode(HANDLER_MODULE, "(function)", 1.0, total, children)
    return (runtime, handler)


def result(
    deps: Sequence[DependencyCost],
    init_samples: Sequence[float],
    python: str = "3.11.7",
    platform: str = "linux",
    architecture: str = "x86_64",
    zipped: int | None = None,
    extra_deps: Mapping[str, DependencyCost] | None = None,
    runtime_samples: Sequence[float] | None = None,
) -> AnalyzeResult:
    """A result; ``runtime_samples``: awslambdaric's inclusive ms per run (the machine's pace)."""
    runtime = runtime_samples or [20.0] * len(init_samples)
    everything = [
        *deps,
        dependency("(stdlib)", [15.0] * len(init_samples), kind="stdlib"),
        dependency("awslambdaric", [r / 4 for r in runtime], runtime, "runtime"),
        *(extra_deps or {}).values(),
    ]
    unzipped = sum(d.unzipped_bytes for d in everything)
    return AnalyzeResult(
        handler=f"{HANDLER_MODULE}.lambda_handler",
        python=python,
        platform=platform,
        architecture=architecture,
        function_path="/tmp/fn",
        task_root="/tmp/fn",
        built=False,
        runs=len(init_samples),
        init_ms=SampleStats.of(init_samples),
        package=PackageSummary(
            unzipped_bytes=unzipped,
            zipped_bytes=zipped if zipped is not None else sum(d.zipped_bytes for d in everything),
            files=10,
            has_bytecode=True,
            bytecode_fraction=1.0,
            bytecode_penalty_ms=None,
        ),
        dependencies=tuple(sorted(everything, key=lambda d: -d.inclusive_ms)),
        imports=tree(deps),
    )


def remote_dict() -> dict:
    """A small remote result in the JSON contract of issue 4: one function, two tiers."""

    def sample(init: float | None, duration: float) -> dict:
        return {
            "init_ms": init,
            "duration_ms": duration,
            "billed_ms": float(int(duration) + 1),
            "max_memory_mb": 80,
            "request_id": "r",
        }

    def tier(memory: int, init: float, penalty: float) -> dict:
        return {
            "memory_mb": memory,
            "cold": [sample(init, 30.0), sample(init + 10, 32.0)],
            "warm": [sample(None, 3.0), sample(None, 3.2)],
            "init_ms": {"median": init + 5, "p90": init + 9},
            "warm_duration_ms": {"median": 3.1},
            "cold_penalty_ms": penalty,
            "cost_usd_per_million": {"cold": 1.23, "warm": 0.45},
            "failures": [],
            "error": None,
            "notes": [],
        }

    relation = {
        "x": "memory_mb",
        "y": "init_ms",
        "controls_for": "function",
        "n": 2,
        "groups": 1,
        "spearman": -1.0,
        "slope": -12.5,
        "slope_unit": "ms per doubling",
        "caveat": "n is small",
    }
    return {
        "schema_version": 1,
        "kind": "remote",
        "created_at": "2026-01-01T00:00:00Z",
        "local": True,
        "endpoint_url": None,
        "settings": {"memory_mb": [128, 1024], "samples": 2, "warm": 2, "concurrency": 1},
        "interrupted": False,
        "functions": [
            {
                "arn": "arn:aws:lambda:us-east-1:123456789012:function:demo",
                "name": "demo",
                "runtime": "python3.11",
                "architecture": "x86_64",
                "package_type": "Zip",
                "code_size_bytes": 3_000_000,
                "package_unzipped_bytes": 9_000_000,
                "original_memory_mb": 256,
                "environment_names": ["A"],
                "restored": True,
                "tiers": [tier(128, 400.0, 900.0), tier(1024, 300.0, 350.0)],
                "recommended_memory_mb": 1024,
                "recommendation": "1024 MB: the cheapest within 10% of the best cold penalty",
                "error": None,
            }
        ],
        "correlation": {
            "package_size_measure": "unzipped",
            "init_vs_memory": relation,
            "init_vs_package_size": {**relation, "x": "package_bytes", "spearman": None},
        },
    }
