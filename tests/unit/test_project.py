"""Project discovery: SAM/CloudFormation, cdk.out and serverless.yml → function specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.build.handler import resolve_function
from coldprof.errors import UsageError
from coldprof.project import find_project, load_project, parse_parameters, select_functions
from coldprof.project.yamlload import parse_template

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
SAM = PROJECTS / "sam_app"
SERVERLESS = PROJECTS / "serverless_app"
CDK = PROJECTS / "cdk_app"


def by_id(project):  # type: ignore[no-untyped-def]
    return {f.logical_id: f for f in project.functions}


def test_short_form_tags_read_as_long_forms() -> None:
    data = parse_template(
        "A: !Ref X\nB: !GetAtt T.Arn\nC: !Sub [\"${a}\", {a: 1}]\nD: !Join [\"-\", [a, b]]\n"
        "E: !If [Cond, x, y]\nF: !ImportValue shared\nV: 2010-09-09\n",
        Path("template.yaml"),
    )
    assert data == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "Arn"]},
        "C": {"Fn::Sub": ["${a}", {"a": 1}]},
        "D": {"Fn::Join": ["-", ["a", "b"]]},
        "E": {"Fn::If": ["Cond", "x", "y"]},
        "F": {"Fn::ImportValue": "shared"},
        "V": "2010-09-09",  # a string to CloudFormation, not a date
    }


def test_broken_yaml_is_a_one_line_usage_error(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Fn:\n    Type: [unclosed\n")
    with pytest.raises(UsageError, match=r"template.yaml: line \d+: not valid YAML"):
        load_project(template)


def test_sam_globals_merge_with_each_function() -> None:
    project = find_project(SAM)
    assert project is not None and project.source_format == "sam"
    functions = by_id(project)
    assert set(functions) == {"OrdersFunction", "ReportsFunction"}
    orders, reports = functions["OrdersFunction"], functions["ReportsFunction"]
    assert orders.handler == "app.lambda_handler"  # from Globals
    assert orders.code_dir == SAM / "src" / "orders"
    assert reports.handler == "reports.handler"  # its own wins
    assert (orders.runtime, orders.architecture, orders.timeout_s) == ("python3.12", "arm64", 15)
    assert (orders.memory_mb, reports.memory_mb) == (256, 1024)
    # Environment maps merge: Globals' variables plus the function's own.
    assert orders.environment["SERVICE"] == "orders" and reports.environment["STAGE"] == "test"
    # Lists add up, Globals first: the local layer, then the function's ARN layer.
    assert [layer.name for layer in reports.layers][0] == "SharedLayer"
    assert reports.layers[1].arn is not None and orders.arn_layers == ()
    assert orders.local_layers[0].content_dir == SAM / "layers" / "shared"


def test_intrinsics_resolve_or_stand_in() -> None:
    orders = by_id(find_project(SAM))["OrdersFunction"]
    env = orders.environment
    assert env["STAGE"] == "test"  # !Ref of a parameter with a default
    assert env["BUCKET"] == "test-orders-us-east-1"  # !Sub with a parameter and AWS::Region
    assert (env["RETRIES"], env["DEBUG"]) == ("3", "false")  # as CloudFormation writes them
    stood = {s.variable: s for s in orders.stand_ins}
    assert set(stood) == {"TABLE_NAME", "QUEUE_URL", "TOPIC_ARN"}
    assert env["TABLE_NAME"] == "coldprof-stand-in-TableName"
    assert "no default" in stood["TABLE_NAME"].reason
    assert stood["TOPIC_ARN"].reason == "!GetAtt Topic.TopicArn"
    assert env["QUEUE_URL"] == stood["QUEUE_URL"].value == "coldprof-stand-in-OrdersQueue"


def test_parameter_overrides_replace_the_stand_in() -> None:
    project = find_project(SAM, parse_parameters(["TableName=orders-table", "Stage=prod"]))
    orders = by_id(project)["OrdersFunction"]
    assert orders.environment["TABLE_NAME"] == "orders-table"
    assert orders.environment["BUCKET"] == "prod-orders-us-east-1"
    assert "TABLE_NAME" not in {s.variable for s in orders.stand_ins}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_parameters(["TableName"])


def test_non_python_functions_are_listed_as_skipped() -> None:
    project = find_project(SAM)
    assert [(s.logical_id, s.reason) for s in project.skipped] == [
        ("Website", "runtime nodejs20.x, not Python")
    ]
    with pytest.raises(UsageError, match="not Python"):
        select_functions(project, ["Website"])


def test_function_ids_choose_and_unknown_ones_list_the_choices() -> None:
    project = find_project(SAM)
    chosen = select_functions(project, ["ReportsFunction", "OrdersFunction", "ReportsFunction"])
    assert [f.logical_id for f in chosen] == ["ReportsFunction", "OrdersFunction"]
    with pytest.raises(UsageError) as info:
        select_functions(project, ["Nope"])
    assert "OrdersFunction, ReportsFunction" in (info.value.hint or "")


def test_a_function_folder_finds_the_template_above_it() -> None:
    project = find_project(SAM / "src" / "reports")
    assert project is not None
    assert [f.logical_id for f in project.functions] == ["ReportsFunction"]


def test_conditions_mappings_and_no_value(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "template.yaml").write_text(
        """
Parameters:
  Env: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Mappings:
  Sizes:
    prod: {Level: WARN}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code: fn/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          LEVEL: !FindInMap [Sizes, !Ref Env, Level]
          MODE: !If [IsProd, live, test]
          DROPPED: !If [IsProd, !Ref AWS::NoValue, kept]
          ACCOUNT: !Sub "${AWS::AccountId}:${!Literal}"
          IMPORTED: !ImportValue shared-bucket
"""
    )
    spec = by_id(find_project(tmp_path))["Fn"]
    assert spec.source_format == "cloudformation"
    assert spec.environment == {
        "LEVEL": "WARN",
        "MODE": "live",
        "ACCOUNT": "123456789012:${Literal}",
        "IMPORTED": "coldprof-stand-in-shared-bucket",
    }
    assert [s.reason for s in spec.stand_ins] == ["!ImportValue shared-bucket"]


def test_cdk_out_functions_point_at_their_asset_folders() -> None:
    project = find_project(CDK)
    assert project is not None and project.source_format == "cdk"
    (spec,) = project.functions
    assert spec.logical_id == "ItemsHandler4F6A0B12"
    assert spec.code_dir == CDK / "cdk.out" / "asset.3f2a9c0e1b7d"
    assert (spec.runtime, spec.memory_mb, spec.timeout_s) == ("python3.12", 512, 30)
    assert spec.environment["REGION_TAG"] == "items-us-east-1"  # Fn::Join with a pseudo param
    assert spec.environment["TABLE_NAME"] == "coldprof-stand-in-ItemsTable276F1AC8"
    assert spec.local_layers[0].content_dir == CDK / "cdk.out" / "asset.8be41d07aa52"
    assert [s.logical_id for s in project.skipped] == [
        "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"
    ]
    assert find_project(CDK / "cdk.out") == project  # the folder itself works too


def test_serverless_handler_in_a_subfolder_and_variables() -> None:
    project = find_project(SERVERLESS)
    assert project is not None and project.source_format == "serverless"
    create = by_id(project)["create"]
    assert create.handler == "todos/create.create" and create.code_dir == SERVERLESS
    assert (create.runtime, create.memory_mb, create.timeout_s) == ("python3.11", 512, 10)
    env = create.environment
    assert env["DYNAMODB_TABLE"] == "todos-dev"  # ${self:service}-${sls:stage}, stage defaulted
    assert env["LOG_LEVEL"] == "INFO"  # ${env:LOG_LEVEL, 'INFO'}: the default, not the shell's
    stood = {s.variable: s.reason for s in create.stand_ins}
    assert stood == {
        "API_KEY": "${ssm:/todos/api-key} cannot be resolved offline",
        "TABLE_ARN": "!GetAtt TodosDynamoDbTable.Arn",
    }
    assert by_id(project)["list"].memory_mb == 256
    staged = by_id(find_project(SERVERLESS, {"stage": "prod"}))["list"]
    assert staged.environment["DYNAMODB_TABLE"] == "todos-prod"


def test_serverless_layers_requirements_and_wsgi(tmp_path: Path) -> None:
    (tmp_path / "deps" / "python").mkdir(parents=True)
    (tmp_path / "app.py").write_text("app = None\n")
    (tmp_path / "requirements.txt").write_text("flask\n")
    (tmp_path / "serverless.yml").write_text(
        """
service: web
provider: {name: aws, runtime: python3.12}
custom:
  wsgi: {app: app.app}
layers:
  deps: {path: deps}
functions:
  api:
    handler: wsgi_handler.handler
    layers:
      - {Ref: DepsLambdaLayer}
      - arn:aws:lambda:us-east-1:123456789012:layer:extra:3
  worker:
    handler: worker.run
    runtime: nodejs20.x
"""
    )
    project = find_project(tmp_path)
    (api,) = project.functions
    assert api.handler == "app.app" and "serverless-wsgi" in api.notes[0]
    # serverless-python-requirements: the service root's requirements.txt is the function's.
    assert resolve_function(tmp_path, function="api").requirements == tmp_path / "requirements.txt"
    assert api.local_layers[0].content_dir == tmp_path / "deps"
    assert api.arn_layers[0].short_name == "extra:3"
    assert project.skipped[0].logical_id == "worker"


def test_serverless_nested_variables_and_fallbacks(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def main(e, c):\n    pass\n")
    (tmp_path / "serverless.yml").write_text(
        """
service: shop
custom:
  defaultStage: qa
  table: ${self:service}-orders-${opt:stage, ${self:custom.defaultStage}}
provider:
  name: aws
  runtime: python3.12
  environment:
    TABLE: ${self:custom.table}
    REGION: ${opt:region, self:provider.region, 'eu-west-1'}
    FLAG: ${env:FEATURE_FLAG}
functions:
  main:
    handler: handler.main
"""
    )
    (spec,) = find_project(tmp_path).functions
    assert spec.environment["TABLE"] == "shop-orders-qa"
    assert spec.environment["REGION"] == "eu-west-1"
    assert spec.environment["FLAG"] == "coldprof-stand-in-FEATURE_FLAG"
    assert [s.variable for s in spec.stand_ins] == ["FLAG"]


def test_globals_lists_add_up_but_an_architecture_is_replaced() -> None:
    from coldprof.project.sam import merge_globals

    merged = merge_globals(
        {"Layers": ["a"], "Architectures": ["arm64"], "Environment": {"Variables": {"A": 1}}},
        {"Layers": ["b"], "Architectures": ["x86_64"], "Environment": {"Variables": {"B": 2}}},
    )
    assert merged == {
        "Layers": ["a", "b"],
        "Architectures": ["x86_64"],
        "Environment": {"Variables": {"A": 1, "B": 2}},
    }
