"""results.advisor: the advisor's report as AnalyzeResult.advisor, saved as it always was."""

from __future__ import annotations

import json
from dataclasses import replace

from coldprof.render import OutputFormat, render
from coldprof.results.advisor import (
    AdvisorReport,
    Deferrable,
    EventRun,
    ImportSite,
    InitSideEffects,
    KeptDependency,
)
from coldprof.results.analyze import AnalyzeResult
from conftest import ASSETS
from factories import dependency, result

# Saved by `coldprof analyze sample_functions/heavy_deps --event ... --verify` before the report
# became a typed field (the import tree and most dependencies cut to keep it small).
SAVED = ASSETS / "results" / "analyze-verify.json"
REPORT_KEYS = [
    "tracer",
    "python",
    "events",
    "deferrable",
    "total_saving_ms",
    "kept",
    "side_effects",
    "verification",
    "notes",
    "first_call",
]


def written(analyzed: AnalyzeResult) -> str:
    """The JSON `coldprof analyze --output` writes."""
    return render(analyzed, OutputFormat.json)


def test_a_saved_result_loads_its_report_and_is_written_back_byte_for_byte() -> None:
    text = SAVED.read_text()
    loaded = AnalyzeResult.from_dict(json.loads(text))
    report = loaded.advisor
    assert report is not None and "advisor" not in loaded.extras
    assert [d.name for d in report.deferrable] == ["requests"]
    assert report.deferrable[0].sites[0].where == "app.py:4"
    assert report.verification is not None and report.verification.deferred == ("requests",)
    assert report.events[0].ok and report.events[0].used == ("numpy",)
    assert written(loaded) == text


def test_the_report_is_written_last_with_its_keys_in_order() -> None:
    data = json.loads(SAVED.read_text())
    assert list(data)[-3:] == ["init_features", "lambda_estimate", "advisor"]
    assert list(data["advisor"]) == REPORT_KEYS
    site = data["advisor"]["deferrable"][0]["sites"][0]
    assert list(site) == [
        "file",
        "line",
        "statement",
        "imports",
        "module",
        "functions",
        "movable",
        "reason",
    ]
    fresh = replace(result([dependency("requests", [50.0] * 3)], [100.0] * 3), advisor=None)
    moved = replace(fresh, extras={"later": 1}, advisor=AdvisorReport.from_dict(data["advisor"]))
    saved = json.loads(written(moved))
    assert list(saved)[-2:] == ["later", "advisor"] and saved["advisor"] == data["advisor"]
    assert "advisor" not in json.loads(written(fresh))


def test_a_report_built_in_memory_round_trips() -> None:
    site = ImportSite("app.py", 3, "import a, b", "import a", "app", ("handler",))
    stuck = ImportSite("app.py", 9, "import c", "import c", "app", (), "used at import")
    report = AdvisorReport(
        tracer="sys.monitoring",
        python="3.12.1",
        events=(
            EventRun.of("ok.json", True, "ok", 1.23456, b'{"r": 1}', "log"),
            EventRun.of("bad.json", False, "error", 2.0, b'{"errorType": "KeyError"}', "x" * 5000),
        ),
        deferrable=(Deferrable("a", "third-party", "1.0", 12.5, ("dep",), (site, stuck), "fix"),),
        total_saving_ms=12.5,
        kept=(KeptDependency("b", "used by every event", ("ok.json",)),),
        side_effects=InitSideEffects(network=("connect example.com:443",), file_opens=3),
        notes=("a note",),
    )
    assert report.events[0].duration_ms == 1.235 and report.events[0].output == ""
    failed = report.events[1]
    assert failed.describe() == "KeyError" and len(failed.output) == 4000
    assert report.failed_events == [failed] and not report.deferrable[0].movable
    analyzed = replace(result([], [100.0]), advisor=report)
    loaded = AnalyzeResult.from_dict(json.loads(written(analyzed)))
    assert loaded.advisor == report
    assert report.findings == [
        "a: 12.5 ms deferrable (app.py:3)",
        "network at init: connect example.com:443. Every cold start waits on it; connect on "
        "first use instead.",
    ]
