"""`coldprof analyze PROJECT`, run as users run it: real subprocesses, real cold starts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import coldprof_cmd

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
QUICK = ("--runs", "1", "--bytecode-runs", "0")
POWERTOOLS_ARN = (
    "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(coldprof_cmd(*args), capture_output=True, text=True, timeout=300)


def test_sam_project_analyzes_every_function_as_one_json_document() -> None:
    done = run("analyze", str(PROJECTS / "sam_app"), *QUICK, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "project" and data["source_format"] == "sam"
    ids = [f["logical_id"] for f in data["functions"]]
    assert ids == ["OrdersFunction", "ReportsFunction"]
    orders, reports = (f["result"] for f in data["functions"])
    # Orders' init reads TABLE_NAME, BUCKET, RETRIES and the Globals' STAGE, and imports the
    # SharedLayer's module: it would fail at init without the template's environment and layer.
    assert orders["kind"] == "analyze" and orders["failure"] is None
    assert orders["handler"] == "app.lambda_handler" and reports["handler"] == "reports.handler"
    # Recorded relative to the working directory (the repository here), as reports show it.
    orders_path = PROJECTS / "sam_app" / "src" / "orders"
    assert Path(orders["function_path"]).resolve() == orders_path.resolve()
    assert orders["declared"]["local_layers"] == ["SharedLayer"]
    assert (orders["declared"]["runtime"], orders["declared"]["memory_mb"]) == ("python3.12", 256)
    assert reports["declared"]["memory_mb"] == 1024
    stood = {s["variable"]: s["reason"] for s in orders["declared"]["stand_ins"]}
    assert set(stood) == {"TABLE_NAME", "QUEUE_URL", "TOPIC_ARN"}
    assert reports["declared"]["arn_layers"] == ["AWSLambdaPowertoolsPythonV3-python312-arm64:7"]
    assert data["skipped"] == [
        {"logical_id": "Website", "reason": "runtime nodejs20.x, not Python"}
    ]
    # The template's own values are never written down, only coldprof's stand-ins.
    assert "test-orders-us-east-1" not in done.stdout


def test_project_table_starts_with_the_summary_then_each_report() -> None:
    done = run("analyze", str(PROJECTS / "sam_app"), *QUICK)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    summary, _, rest = out.partition("== OrdersFunction")
    assert "function" in summary and "init median ms" in summary and "top dependency" in summary
    assert "OrdersFunction" in summary and "ReportsFunction" in summary and "256 MB" in summary
    assert "not analyzed: Website: runtime nodejs20.x, not Python" in summary
    assert "== ReportsFunction" in rest
    assert "declared: python3.12, arm64, 256 MB, timeout 15 s" in rest
    assert "stand-in values" in rest and "TABLE_NAME: parameter TableName has no default" in rest
    assert "layers by ARN, not fetched" in rest


def test_function_option_picks_one_and_parameters_replace_stand_ins() -> None:
    done = run(
        "analyze",
        str(PROJECTS / "sam_app"),
        *QUICK,
        "--function",
        "OrdersFunction",
        "--parameter",
        "TableName=orders",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "analyze" and data["declared"]["logical_id"] == "OrdersFunction"
    assert "TABLE_NAME" not in {s["variable"] for s in data["declared"]["stand_ins"]}


def test_unknown_function_is_a_usage_error_listing_the_choices() -> None:
    done = run("analyze", str(PROJECTS / "sam_app"), *QUICK, "--function", "Nope")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "OrdersFunction, ReportsFunction" in done.stderr


def test_serverless_project_with_handlers_in_a_subfolder() -> None:
    done = run("analyze", str(PROJECTS / "serverless_app"), *QUICK, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    results = {f["logical_id"]: f["result"] for f in data["functions"]}
    assert results["create"]["handler"] == "todos/create.create"
    assert results["list"]["failure"] is None


def test_cdk_out_project() -> None:
    done = run("analyze", str(PROJECTS / "cdk_app"), *QUICK, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # one Python function: a plain analyze result
    assert data["kind"] == "analyze" and data["handler"] == "index.handler"
    assert data["declared"]["source_format"] == "cdk"
    assert data["declared"]["local_layers"] == ["CommonLayerB2F5C9A1"]


def _arn_layer_project(root: Path) -> Path:
    (root / "fn").mkdir(parents=True)
    (root / "fn" / "app.py").write_text(
        "from aws_lambda_powertools import Logger\n\ndef handler(e, c):\n    return 1\n"
    )
    (root / "ok").mkdir()
    (root / "ok" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Api:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: fn\n      Handler: app.handler\n      Runtime: python3.12\n"
        f"      Layers: [{POWERTOOLS_ARN}]\n"
        "  Ok:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: ok\n      Handler: app.handler\n      Runtime: python3.12\n"
    )
    return root


def test_missing_module_from_an_arn_layer_names_the_layer(tmp_path: Path) -> None:
    project = _arn_layer_project(tmp_path / "project")
    done = run("analyze", str(project), *QUICK, "--function", "Api")
    assert done.returncode == 3
    assert "No module named 'aws_lambda_powertools'" in done.stderr  # the function's own words
    assert "hint: the template gives Api the layer" in done.stderr
    assert "AWSLambdaPowertoolsPythonV3-python312-x86_64:7" in done.stderr
    assert "--layer DIR" in done.stderr

    # The hint's remedy works: the layer's content given with --layer.
    layer = tmp_path / "powertools"
    (layer / "python" / "aws_lambda_powertools").mkdir(parents=True)
    (layer / "python" / "aws_lambda_powertools" / "__init__.py").write_text("Logger = object\n")
    done = run("analyze", str(project), *QUICK, "--function", "Api", "--layer", str(layer))
    assert done.returncode == 0, done.stderr


def test_exit_code_is_the_worst_of_the_functions(tmp_path: Path) -> None:
    project = _arn_layer_project(tmp_path / "project")
    done = run("analyze", str(project), *QUICK, "--format", "json")
    assert done.returncode == 3
    data = json.loads(done.stdout)
    entries = {f["logical_id"]: f for f in data["functions"]}
    assert entries["Ok"]["exit_code"] == 0 and entries["Ok"]["result"]["failure"] is None
    assert entries["Api"]["exit_code"] == 3
    assert "aws_lambda_powertools" in entries["Api"]["result"]["failure"]["message"]
    assert "AWSLambdaPowertoolsPythonV3" in entries["Api"]["hint"]


def test_saved_project_result_renders_again(tmp_path: Path) -> None:
    saved = tmp_path / "project.json"
    done = run("analyze", str(PROJECTS / "serverless_app"), *QUICK, "--output", str(saved))
    assert done.returncode == 0, done.stderr
    again = run("report", str(saved), "--format", "markdown")
    assert again.returncode == 0, again.stderr
    assert "| create" in again.stdout and "todos/create.create" in again.stdout


def _copy_sam(tmp_path: Path) -> Path:

    return Path(shutil.copytree(PROJECTS / "sam_app", tmp_path / "sam_app"))


def test_audit_project_holds_each_function_to_its_own_budget(tmp_path: Path) -> None:
    project = _copy_sam(tmp_path)
    # Orders gets a budget no init can fail; Reports one no init can meet.
    (project / "pyproject.toml").write_text(
        "[tool.coldprof]\nmax-init-ms = 100000\n\n"
        "[tool.coldprof.functions.ReportsFunction]\nmax-init-ms = 0.001\n"
    )
    done = run("audit", str(project), "--runs", "1", "--format", "json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "project_audit" and data["ok"] is False
    verdicts = {f["logical_id"]: (f["exit_code"], f["audit"]) for f in data["functions"]}
    assert verdicts["OrdersFunction"][0] == 0 and verdicts["OrdersFunction"][1]["ok"] is True
    reports_code, reports_audit = verdicts["ReportsFunction"]
    assert reports_code == 1
    assert [f["rule"] for f in reports_audit["findings"]] == ["max-init-ms"]
    assert reports_audit["budgets"]["max_init_ms"] == 0.001


def test_audit_project_baseline_round_trip(tmp_path: Path) -> None:
    project = _copy_sam(tmp_path)
    baseline = tmp_path / "baseline.json"
    quick = ("--runs", "2", "--baseline", str(baseline))
    done = run("audit", str(project), *quick, "--update-baseline")
    assert done.returncode == 0, done.stderr
    saved = json.loads(baseline.read_text())
    assert saved["kind"] == "project"
    assert [f["logical_id"] for f in saved["functions"]] == ["OrdersFunction", "ReportsFunction"]
    # One function against its entry in the project baseline.
    done = run("audit", str(project), *quick, "--function", "ReportsFunction", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(done.stdout)
    assert data["baseline"]["handler"] == "reports.handler"
    assert data["init"] is not None


def test_cdk_assets_kept_as_zips_are_unpacked_and_analyzed(tmp_path: Path) -> None:
    import zipfile

    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "manifest.json").write_text('{"version": "36.0.0", "artifacts": {}}')
    with zipfile.ZipFile(out / "asset.aa11.zip", "w") as archive:
        archive.writestr("index.py", "import helper\n\ndef handler(e, c):\n    return helper.X\n")
    with zipfile.ZipFile(out / "asset.bb22.zip", "w") as archive:
        archive.writestr("python/helper.py", "X = 1\n")
    template = {
        "Resources": {
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {"Content": {"S3Bucket": "b", "S3Key": "bb22.zip"}},
                "Metadata": {"aws:asset:path": "asset.bb22.zip", "aws:asset:property": "Content"},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": "b", "S3Key": "aa11.zip"},
                    "Handler": "index.handler",
                    "Runtime": "python3.12",
                    "Layers": [{"Ref": "Layer"}],
                },
                "Metadata": {"aws:asset:path": "asset.aa11.zip", "aws:asset:property": "Code"},
            },
        }
    }
    (out / "Stack.template.json").write_text(json.dumps(template))
    done = run("analyze", str(tmp_path), *QUICK, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["handler"] == "index.handler" and data["declared"]["local_layers"] == ["Layer"]
    assert sorted(p.name for p in out.iterdir()) == [  # the project itself is left as it was
        "Stack.template.json", "asset.aa11.zip", "asset.bb22.zip", "manifest.json"
    ]

