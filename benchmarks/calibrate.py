"""`make calibrate`: rebuild the published Lambda functions here, analyze them, refit the model.

Each row of the calibration set is an Init Duration someone measured on AWS Lambda. The functions
are rebuilt here from what the row says (pip install --target of its packages, a handler that
imports them at module level), analyzed like any user function, and the published figure is
regressed on the features measured. Writes src/coldprof/estimate/data/lambda_model.json (the
model and its data) and reports/calibration.md (each point's leave-one-out error).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from coldprof.errors import ColdprofError
from coldprof.estimate import speedref
from coldprof.estimate.calibrate import BASELINE_RUNTIME, Point, fit, model_document
from coldprof.estimate.model import MODEL_FILE, InitFeatures, features_from
from coldprof.measure.analyze import AnalyzeRequest, analyze

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "reports" / "calibration.md"
CACHE = REPO / ".cache" / "calibration"
WHEELS = REPO / ".cache" / "wheels"  # pip's downloads, kept between runs
RUNS = 5
PIP_TIMEOUT_S = 1800

HANDLER_TAIL = "\n\ndef handler(event, context):\n    return 'ok'\n"


@dataclass(frozen=True)
class Function:
    """How to rebuild one published function."""

    code: str  # the module-level code of app.py
    requirements: tuple[str, ...] = ()
    bytecode: bool = True  # False: ship no .pyc (the stripped zip of lambda-datasci-perf)
    in_layers: bool = False  # the requirements go to a layer, not the task root


DATASCI = (
    "numpy==1.24.4",
    "pandas==2.0.3",
    "pyarrow==14.0.1",
    "aws-lambda-powertools==2.26.1",
    "aws-xray-sdk==2.12.1",
)
DATASCI_CODE = (
    "import numpy\nimport pandas\nimport pyarrow\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "logger = Logger()\ntracer = Tracer()\nmetrics = Metrics(namespace='coldprof')\n"
)

FUNCTIONS = {
    "hello": Function(""),
    "stdlib": Function("import hashlib\nimport json\nimport logging\nimport platform\n"),
    "boto3-dynamodb": Function("import boto3\n\nclient = boto3.client('dynamodb')\n"),
    "markdown": Function("import markdown\n", ("markdown",)),
    "igraph": Function("import igraph\n", ("igraph",)),
    "numpy-pandas": Function("import numpy\nimport pandas\n", ("numpy", "pandas")),
    "lightgbm": Function("import lightgbm\n", ("lightgbm",)),
    # Which submodules the λ-trim app imports is not published: these are the usual ones.
    "scikit-image": Function(
        "from skimage import color, exposure, filters, io, measure, morphology, transform\n",
        ("scikit-image",),
    ),
    "tensorflow-numpy": Function("import numpy\nimport tensorflow\n", ("tensorflow-cpu", "numpy")),
    "datasci-zip": Function(DATASCI_CODE, DATASCI, bytecode=False),
    "datasci-zip-layers": Function(DATASCI_CODE, DATASCI, bytecode=False, in_layers=True),
    "datasci-image": Function(DATASCI_CODE, DATASCI),
}

LAMBDA_PERF = "maxday/lambda-perf (daily), 128 MB, mean"
CEBERT = "cebert/aws-lambda-performance-benchmarks, november-2025, mean over 128-2048 MB"
LTRIM = "λ-trim artifact (ASPLOS 2025), image python:3.10, 3008 MB"
DATASCI_SRC = "fourTheorem/lambda-datasci-perf (2023-11), python3.9, 1024 MB, mode"
# (point, function, runtime, architecture, package type, published ms, source)
POINTS = (
    ("hello python3.9", "hello", "python3.9", "x86_64", "zip", 78.9, LAMBDA_PERF),
    ("hello python3.10", "hello", "python3.10", "x86_64", "zip", 74.2, LAMBDA_PERF),
    ("hello python3.11", "hello", "python3.11", "x86_64", "zip", 78.6, LAMBDA_PERF),
    ("hello python3.12", "hello", "python3.12", "x86_64", "zip", 85.2, LAMBDA_PERF),
    ("hello python3.13", "hello", "python3.13", "x86_64", "zip", 91.1, LAMBDA_PERF),
    ("stdlib python3.11 arm64", "stdlib", "python3.11", "arm64", "zip", 79.5, CEBERT),
    ("stdlib python3.11", "stdlib", "python3.11", "x86_64", "zip", 94.5, CEBERT),
    ("stdlib python3.13 arm64", "stdlib", "python3.13", "arm64", "zip", 100.0, CEBERT),
    ("stdlib python3.13", "stdlib", "python3.13", "x86_64", "zip", 122.5, CEBERT),
    (
        "boto3 client python3.11 arm64",
        "boto3-dynamodb",
        "python3.11",
        "arm64",
        "zip",
        372.5,
        CEBERT,
    ),
    ("boto3 client python3.11", "boto3-dynamodb", "python3.11", "x86_64", "zip", 438.5, CEBERT),
    ("boto3 client python3.12", "boto3-dynamodb", "python3.12", "x86_64", "zip", 473.5, CEBERT),
    ("boto3 client python3.13", "boto3-dynamodb", "python3.13", "x86_64", "zip", 487.5, CEBERT),
    ("markdown", "markdown", "python3.10", "x86_64", "image", 169.0, LTRIM + ", p50"),
    ("igraph", "igraph", "python3.10", "x86_64", "image", 250.0, LTRIM + ", mean"),
    ("numpy + pandas", "numpy-pandas", "python3.10", "x86_64", "image", 815.0, LTRIM + ", p50"),
    ("lightgbm", "lightgbm", "python3.10", "x86_64", "image", 750.0, LTRIM + ", mean"),
    ("scikit-image", "scikit-image", "python3.10", "x86_64", "image", 1150.0, LTRIM + ", mean"),
    (
        "tensorflow + numpy",
        "tensorflow-numpy",
        "python3.10",
        "x86_64",
        "image",
        4800.0,
        LTRIM + ", p50",
    ),
    ("datasci stack, zip", "datasci-zip", "python3.9", "x86_64", "zip", 2950.0, DATASCI_SRC),
    (
        "datasci stack, zip + layers",
        "datasci-zip-layers",
        "python3.9",
        "x86_64",
        "zip",
        3200.0,
        DATASCI_SRC,
    ),
    ("datasci stack, image", "datasci-image", "python3.9", "x86_64", "image", 1400.0, DATASCI_SRC),
)


def pip_install(requirements: tuple[str, ...], target: Path, bytecode: bool) -> str | None:
    """Install into target; the error's last line when it fails."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    download = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--dest",
        str(WHEELS),
        *requirements,
    ]
    install = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        str(WHEELS),
        "--target",
        str(target),
        *([] if bytecode else ["--no-compile"]),
        *requirements,
    ]
    for command in (download, install):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"pip took over {PIP_TIMEOUT_S} s"
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return lines[-1] if lines else f"pip exited with {done.returncode}"
    if not bytecode:
        for cache in list(target.rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)
    return None


def build(name: str, function: Function) -> tuple[Path, tuple[Path, ...]] | str:
    """The function directory (and layers) for one published function, or why it failed."""
    root = CACHE / name
    done_marker = root / ".built"
    layer = root / "layer"
    task = root / "task"
    layers = (layer,) if function.in_layers else ()
    if done_marker.is_file():
        return task, layers
    shutil.rmtree(root, ignore_errors=True)
    task.mkdir(parents=True)
    (task / "app.py").write_text(function.code + HANDLER_TAIL)
    if function.requirements:
        target = layer / "python" if function.in_layers else task
        target.mkdir(parents=True, exist_ok=True)
        error = pip_install(function.requirements, target, function.bytecode)
        if error:
            return error
    done_marker.write_text("")
    return task, layers


def reference_by_runtime(python3_11_reference: float) -> dict[str, float]:
    """The speed reference per runtime: measured with each local interpreter, round-robin, and
    scaled to the 3.11 figure the analyses measured alongside the cold starts."""
    pyenv = Path.home() / ".pyenv" / "versions"
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True)
        pyenv = Path(root.stdout.strip()) / "versions"
    except (OSError, subprocess.CalledProcessError):
        pass
    pythons = {}
    for minor in (9, 10, 11, 12, 13, 14):
        found = sorted(pyenv.glob(f"3.{minor}.*/bin/python3"))
        if found:
            pythons[f"python3.{minor}"] = str(found[-1])
    samples: dict[str, list[float]] = {name: [] for name in pythons}
    for _ in range(9):
        for name, python in pythons.items():
            value = speedref.measure(python)
            if value is not None:
                samples[name].append(value)
    medians = {name: statistics.median(v) for name, v in samples.items() if v}
    if BASELINE_RUNTIME not in medians:
        return {BASELINE_RUNTIME: python3_11_reference}
    scale = python3_11_reference / medians[BASELINE_RUNTIME]
    return {name: round(value * scale, 3) for name, value in medians.items()}


def write_report(document: dict, path: Path) -> None:
    model = document["model"]
    points = document["points"]
    errors = [abs(p["loo_error_pct"]) for p in points]
    within = sum(1 for e in errors if e <= 30)
    lines = [
        "# Calibration of the Lambda init estimate",
        "",
        f"Model `{model['name']}`, refitted by `make calibrate` on {document['measured_on']}.",
        "Each published Init Duration was rebuilt here, analyzed, and predicted by the model "
        "fitted on all the other points (leave-one-out).",
        "",
        f"- points: {len(points)}; leave-one-out median error "
        f"{model['loo_median_error_pct']:.1f}% (goal ±15%); {within} of {len(points)} within "
        "±30% (goal: all)",
        f"- the range shown is mid ÷ (1 + w) to mid × (1 + w), w = {model['loo_half_width_pct']}% "
        "(80th percentile of the leave-one-out errors)",
        f"- form: {model['form']}",
        "- terms: "
        + "; ".join(
            f"{t['feature']} × {t['coefficient']:.4g} ({'/'.join(t['package_types'])})"
            for t in model["terms"]
        ),
        "- runtime factors (vs python3.11): "
        + ", ".join(f"{k} {v:.3f}" for k, v in model["runtime_factors"].items()),
        "- architecture factors (vs x86_64): "
        + ", ".join(f"{k} {v:.3f}" for k, v in model["architecture_factors"].items()),
        "- speed reference on the calibration machine (CPU ms): "
        + ", ".join(f"{k} {v:.1f}" for k, v in model["reference_cpu_ms"].items()),
        "",
        "| point | runtime | arch | type | published ms | CPU ms here | file MB | fitted ms "
        "| leave-one-out ms | error | outside the others' coverage |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in points:
        f = p["features"]
        file_mb = ((f.get("read_bytes") or 0) + (f.get("package_library_bytes") or 0)) / 2**20
        lines.append(
            f"| {p['name']} | {p['runtime']} | {p['architecture']} | {p['package_type']} | "
            f"{p['published_ms']:,.0f} | {f['cpu_ms'] or 0:,.1f} | {file_mb:,.1f} | "
            f"{p['fitted_ms']:,.0f} | {p['loo_ms']:,.0f} | {p['loo_error_pct']:+.1f}% | "
            f"{'; '.join(p.get('loo_outside_coverage', ())) or '-'} |"
        )
    lines += [
        "",
        "A point outside the others' coverage would have had its range widened, as the estimate "
        "of a function beyond the calibration is.",
        "",
        "Sources:",
        "",
    ]
    for source in sorted({p["source"] for p in points}):
        lines.append(f"- {source}")
    if document["skipped"]:
        lines += ["", "Skipped (not rebuilt here):", ""]
        lines += [f"- {name}: {why}" for name, why in document["skipped"].items()]
    lines += [
        "",
        "Features are measured by `coldprof analyze` with the interpreter that runs it "
        f"({document['python']}), whatever the published runtime: the runtime's own effect "
        "is the runtime factor, fitted from rows that differ only in runtime.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", nargs="*", help="rebuild and analyze only these functions")
    parser.add_argument(
        "--refit",
        action="store_true",
        help="refit from the features already in the model file (no analyses)",
    )
    args = parser.parse_args()
    previous = json.loads(MODEL_FILE.read_text()) if MODEL_FILE.is_file() else {"points": []}
    known = {p["name"]: p for p in previous.get("points", ())}
    features: dict[str, dict] = {}
    skipped: dict[str, str] = dict(previous.get("skipped", {})) if args.refit else {}
    if not args.refit:
        for name, function in FUNCTIONS.items():
            if args.only and name not in args.only:
                continue
            print(f"== {name}", file=sys.stderr, flush=True)
            built = build(name, function)
            if isinstance(built, str):
                skipped[name] = f"does not install here: {built}"
                print(f"   skipped: {built}", file=sys.stderr)
                continue
            task, layers = built
            request = AnalyzeRequest(
                path=task,
                handler="app.handler",
                runs=args.runs,
                build=False,
                layers=layers,
                bytecode_runs=0,
                cache_dir=CACHE / "coldprof-cache",
            )
            try:
                result = analyze(request)
            except ColdprofError as e:
                skipped[name] = f"analyze failed: {e}"
                print(f"   skipped: {e}", file=sys.stderr)
                continue
            found = features_from(result)
            if found is None:
                skipped[name] = "no features measured (no /proc?)"
                continue
            features[name] = found.to_dict()
            print(
                f"   init {result.init_ms.median:.0f} ms, cpu {found.cpu_ms} ms, "
                f"file {found.file_mb:.1f} MB",
                file=sys.stderr,
                flush=True,
            )
    points = []
    for name, function_name, runtime, arch, package_type, published, source in POINTS:
        data = features.get(function_name)
        if data is None:
            old = next((p for p in known.values() if p["workload"] == function_name), None)
            if old is None or function_name in skipped:
                continue
            data = old["features"]
        points.append(
            Point(
                name,
                function_name,
                runtime,
                arch,
                package_type,
                published,
                source,
                InitFeatures.from_dict(data),
            )
        )
    references = [p.features.reference_cpu_ms for p in points if p.features.reference_cpu_ms]
    if args.refit and previous.get("model"):
        reference = previous["model"]["reference_cpu_ms"]
    else:
        reference = reference_by_runtime(statistics.median(references))
    fitted = fit(points, reference)
    document = model_document(fitted, points, skipped, time.strftime("%Y-%m-%d"))
    document["python"] = platform.python_version()
    document["machine"] = f"{platform.machine()}, {platform.processor() or 'unknown CPU'}"
    MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
    MODEL_FILE.write_text(json.dumps(document, indent=1) + "\n")
    write_report(document, REPORT)
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
