"""`coldprof logs`: on the emulator end to end, Insights and paging via the Stubber, the cost."""

from __future__ import annotations

import io
import json
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from coldprof.aws import report as lambda_logs
from coldprof.aws.connection import Connection
from coldprof.aws.lambda_api import LambdaApi
from coldprof.emulator.server import LocalLambda
from coldprof.logs.insights import InsightsReader
from coldprof.logs.read import FILTER_PATTERN, read_logs
from coldprof.logs.request import LogsRequest
from conftest import coldprof_cmd

NOW_MS = 1_795_000_000_000
DAY_MS = 86_400_000
ROLE = "arn:aws:iam::123456789012:role/coldprof-test"
STREAM = "2026/11/29/[$LATEST]aa"


def _report(request_id: str, duration: float, memory: int, init: float | None = None) -> str:
    return lambda_logs.format_report_line(
        lambda_logs.InvokeReport(
            request_id=request_id,
            duration_ms=duration,
            billed_ms=lambda_logs.billed_ms(duration + (init or 0.0)),
            memory_mb=memory,
            max_memory_mb=60,
            init_ms=init,
        )
    )


# -- the emulator, through boto3 and the real CLI --------------------------------------------
@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with LocalLambda(update_seconds=0.0, log_dir=tmp_path_factory.mktemp("logs")) as url:
        yield url


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import json\n\ndef handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def test_logs_counts_what_the_emulator_ran(endpoint: str) -> None:
    lam = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )
    name = f"orders-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": _function_zip()},
    )
    wait = {"Delay": 0.05, "MaxAttempts": 200}
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=wait)
    for _ in range(3):  # one cold, two warm
        lam.invoke(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"AB": "1"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=wait)
    for _ in range(2):  # the update retired the warm environment: one cold, one warm
        lam.invoke(FunctionName=name)

    done = subprocess.run(
        coldprof_cmd("logs", "--function", name, "--endpoint-url", endpoint, "--format", "json"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    function = result["functions"][0]
    assert function["name"] == name
    assert function["invocations"] == 5
    assert function["cold_starts"] == 2
    init = function["init_ms"]
    assert 0 < init["p50"] <= init["p90"] <= init["p99"] <= init["max"]
    assert function["warm_duration_p50_ms"] is not None
    # The emulator serves no Insights: the fallback read it, and says so.
    assert result["source"] == "filter"
    assert any("FilterLogEvents" in note for note in result["notes"])


def test_an_unknown_function_is_a_clear_error(endpoint: str) -> None:
    done = subprocess.run(
        coldprof_cmd("logs", "--endpoint-url", endpoint),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--function" in done.stderr and "Traceback" not in done.stderr


# -- AWS through the Stubber ---------------------------------------------------------------
@pytest.fixture
def stubbed() -> Iterator[tuple[LambdaApi, Stubber, Stubber]]:
    client = boto3.client("lambda", region_name="eu-west-1")
    logs = boto3.client("logs", region_name="eu-west-1")
    api = LambdaApi(
        Connection(region="eu-west-1"), client=client, logs_client=logs, sleep=lambda _s: None
    )
    with Stubber(client) as lambda_stub, Stubber(logs) as logs_stub:
        yield api, lambda_stub, logs_stub
        lambda_stub.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()


def _config(name: str, runtime: str = "python3.12", **extra: Any) -> dict[str, Any]:
    return {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
        "Runtime": runtime,
        "MemorySize": 512,
        "Architectures": ["arm64"],
        **extra,
    }


def _row(group: str, stream: str, message: str) -> list[dict[str, str]]:
    return [
        {"field": "@timestamp", "value": "2026-11-29 10:00:00.000"},
        {"field": "@log", "value": f"123456789012:{group}"},
        {"field": "@logStream", "value": stream},
        {"field": "@message", "value": message},
    ]


def _reader(api: LambdaApi) -> InsightsReader:
    return InsightsReader(api.logs, sleep=lambda _s: None, poll_s=0.0)


def test_insights_path_polls_until_complete_and_retries_throttling(stubbed: Any) -> None:
    api, lambda_stub, logs_stub = stubbed
    lambda_stub.add_response("get_function_configuration", _config("orders"))
    group = "/aws/lambda/orders"
    logs_stub.add_client_error(
        "start_query", service_error_code="ThrottlingException", service_message="Rate exceeded"
    )
    logs_stub.add_response(
        "start_query",
        {"queryId": "q1"},
        {
            "logGroupNames": [group],
            "startTime": (NOW_MS - DAY_MS) // 1000,
            "endTime": NOW_MS // 1000,
            "queryString": ANY,
            "limit": 10_000,
        },
    )
    logs_stub.add_response(
        "get_query_results", {"status": "Running", "results": []}, {"queryId": "q1"}
    )
    json_report = json.dumps(
        {
            "time": "2026-11-29T10:00:00.000Z",
            "type": "platform.report",
            "record": {
                "requestId": "r3",
                "status": "success",
                "metrics": {
                    "durationMs": 3.0,
                    "billedDurationMs": 4,
                    "memorySizeMB": 512,
                    "maxMemoryUsedMB": 70,
                    "initDurationMs": 300.5,
                },
            },
        }
    )
    logs_stub.add_response(
        "get_query_results",
        {
            "status": "Complete",
            "results": [
                _row(group, "2026/11/29/[$LATEST]aa", _report("r1", 20.0, 512, init=250.0)),
                _row(group, "2026/11/29/[$LATEST]aa", _report("r2", 5.0, 512)),
                _row(group, "2026/11/29/[7]bb", json_report),
            ],
        },
        {"queryId": "q1"},
    )
    request = LogsRequest(functions=("orders",), start_ms=NOW_MS - DAY_MS, end_ms=NOW_MS)
    result = read_logs(request, api, now_ms=NOW_MS, insights=_reader(api))
    function = result.functions[0]
    assert result.source == "insights"
    assert function.stats.invocations == 3
    assert function.stats.cold_starts == 2
    assert function.stats.versions == ("$LATEST", "7")
    assert function.architecture == "arm64"


def test_a_failed_query_falls_back_to_filter_log_events(stubbed: Any) -> None:
    api, lambda_stub, logs_stub = stubbed
    lambda_stub.add_response("get_function_configuration", _config("orders"))
    group = "/aws/lambda/orders"
    logs_stub.add_response("start_query", {"queryId": "q1"})
    logs_stub.add_response("get_query_results", {"status": "Failed", "results": []})
    logs_stub.add_response(
        "filter_log_events",
        {
            "events": [
                {
                    "logStreamName": "2026/11/29/[$LATEST]aa",
                    "message": _report("r1", 9.0, 512, 99.0),
                }
            ],
            "nextToken": "page2",
        },
        {
            "logGroupName": group,
            "startTime": NOW_MS - DAY_MS,
            "endTime": NOW_MS,
            "filterPattern": FILTER_PATTERN,
        },
    )
    logs_stub.add_response(
        "filter_log_events",
        {
            "events": [
                {"logStreamName": "2026/11/29/[$LATEST]aa", "message": _report("r2", 2.0, 512)}
            ]
        },
        {
            "logGroupName": group,
            "startTime": NOW_MS - DAY_MS,
            "endTime": NOW_MS,
            "filterPattern": FILTER_PATTERN,
            "nextToken": "page2",
        },
    )
    request = LogsRequest(functions=("orders",), start_ms=NOW_MS - DAY_MS, end_ms=NOW_MS)
    result = read_logs(request, api, now_ms=NOW_MS, insights=_reader(api))
    assert result.source == "filter"
    assert any("ended Failed" in note for note in result.notes)
    assert (result.functions[0].stats.invocations, result.functions[0].stats.cold_starts) == (2, 1)


def test_all_pages_through_list_functions_and_keeps_python(stubbed: Any) -> None:
    api, lambda_stub, logs_stub = stubbed
    lambda_stub.add_response(
        "list_functions",
        {"Functions": [_config("a"), _config("node", runtime="nodejs20.x")], "NextMarker": "m2"},
        {},
    )
    lambda_stub.add_response("list_functions", {"Functions": [_config("b")]}, {"Marker": "m2"})
    logs_stub.add_response(
        "start_query",
        {"queryId": "q"},
        {
            "logGroupNames": ["/aws/lambda/a", "/aws/lambda/b"],
            "startTime": ANY,
            "endTime": ANY,
            "queryString": ANY,
            "limit": ANY,
        },
    )
    logs_stub.add_response(
        "get_query_results",
        {
            "status": "Complete",
            "results": [
                _row("/aws/lambda/b", "2026/11/29/[$LATEST]x", _report("r1", 1.0, 512, 400.0)),
                _row("/aws/lambda/a", "2026/11/29/[$LATEST]y", _report("r2", 1.0, 512, 100.0)),
            ],
        },
    )
    request = LogsRequest(all_functions=True, start_ms=NOW_MS - DAY_MS, end_ms=NOW_MS)
    result = read_logs(request, api, now_ms=NOW_MS, insights=_reader(api))
    # Sorted by what init costs a month: b's 400 ms init first.
    assert [f.name for f in result.functions] == ["b", "a"]


def test_a_log_group_named_by_logging_config_is_the_one_read(stubbed: Any) -> None:
    api, lambda_stub, logs_stub = stubbed
    custom = "/shared/app-logs"
    lambda_stub.add_response(
        "get_function_configuration",
        _config("orders", LoggingConfig={"LogFormat": "JSON", "LogGroup": custom}),
    )
    logs_stub.add_response(
        "start_query",
        {"queryId": "q"},
        {
            "logGroupNames": [custom],
            "startTime": ANY,
            "endTime": ANY,
            "queryString": ANY,
            "limit": ANY,
        },
    )
    logs_stub.add_response("get_query_results", {"status": "Complete", "results": []})
    request = LogsRequest(functions=("orders",), start_ms=NOW_MS - DAY_MS, end_ms=NOW_MS)
    result = read_logs(request, api, now_ms=NOW_MS, insights=_reader(api))
    assert result.functions[0].log_group == custom
    assert result.functions[0].stats.invocations == 0


# -- the emulator's own log store ----------------------------------------------------------
def test_an_emulator_keeps_its_logs_where_coldprof_emulator_logs_says(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a demo or a CI job reads back only its own sweep's logs."""
    kept = tmp_path / "kept-logs"
    monkeypatch.setenv("COLDPROF_EMULATOR_LOGS", str(kept))
    with LocalLambda(update_seconds=0.0) as url:
        lam = boto3.client("lambda", endpoint_url=url, region_name="us-east-1")
        lam.create_function(
            FunctionName="apart",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": _function_zip()},
        )
        lam.get_waiter("function_active_v2").wait(
            FunctionName="apart", WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
        )
        lam.invoke(FunctionName="apart")
    written = "".join(p.read_text() for p in kept.glob("*.jsonl"))
    assert '"group": "/aws/lambda/apart"' in written and "REPORT RequestId" in written
