"""One execution environment against coldprof's Runtime API: the real awslambdaric, and
coldprof's stand-in (what runs where awslambdaric cannot install) passing the same tests."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import pytest

from coldprof.build.runtime_dir import runtime_dir
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.outcomes import InvokeOutcome
from coldprof.runner.runtime_api import Invocation, RuntimeApi
from coldprof.runner.runtime_client import AWSLAMBDARIC, STANDIN
from coldprof.runner.spec import EnvironmentSpec
from conftest import busy_module


@pytest.fixture(params=[AWSLAMBDARIC, STANDIN])
def spec_for(tmp_path: Path, request: pytest.FixtureRequest):
    def make(source: str, **options) -> EnvironmentSpec:
        (tmp_path / "app.py").write_text(source)
        return EnvironmentSpec(
            handler="app.handler",
            task_root=tmp_path,
            runtime_dir=runtime_dir(),
            runtime_client=request.param,
            **options,
        )

    return make


def invoke_once(spec: EnvironmentSpec) -> tuple[ExecutionEnvironment, InvokeOutcome]:
    """Cold start, one empty event, then the environment killed whatever happened."""
    environment = ExecutionEnvironment(spec)
    try:
        assert environment.start().ok
        outcome = environment.invoke(b"{}")
    finally:
        environment.kill()
    return environment, outcome


def test_runtime_api_sends_lambdas_headers() -> None:
    with RuntimeApi() as api:
        box = api.submit(Invocation("req-1", b'{"x": 1}', 1234, "arn:aws:lambda:r:1:function:f"))
        host, port = api.address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b'{"x": 1}'
        assert response.getheader("Lambda-Runtime-Aws-Request-Id") == "req-1"
        assert response.getheader("Lambda-Runtime-Deadline-Ms") == "1234"
        assert response.getheader("Lambda-Runtime-Trace-Id", "").startswith("Root=1-")
        assert response.getheader("Lambda-Runtime-Invoked-Function-Arn").endswith(":function:f")
        assert api.first_next_at is not None
        conn.request("POST", "/2018-06-01/runtime/invocation/req-1/response", body=b'"done"')
        assert conn.getresponse().status == 202
        outcome = box.get(timeout=5)
        assert outcome.ok and outcome.body == b'"done"'
        conn.close()


def test_init_ends_at_the_first_next_and_includes_module_code(spec_for) -> None:
    spec = spec_for(busy_module(300) + "\ndef handler(e, c):\n    return {'n': e['n'] + 1}\n")
    environment = ExecutionEnvironment(spec)
    try:
        outcome = environment.start()
        assert outcome.ok, outcome
        # The busy-wait is ground truth; interpreter and runtime start-up come on top.
        assert 300 <= outcome.init_ms < 300 + 3000
        first = environment.invoke(b'{"n": 1}')
        assert first.ok and json.loads(first.payload) == {"n": 2}
        second = environment.invoke(b'{"n": 41}')  # the same, warm environment
        assert json.loads(second.payload) == {"n": 42}
        assert environment.invocations == 2
        assert second.max_memory_mb > 5
    finally:
        environment.kill()
    assert not environment.alive


def test_handler_error_comes_back_as_lambdas_error_payload(spec_for) -> None:
    spec = spec_for("def handler(e, c):\n    raise KeyError('missing')\n")
    _, outcome = invoke_once(spec)
    assert not outcome.ok
    error = json.loads(outcome.payload)
    assert error["errorType"] == "KeyError"
    assert "missing" in error["errorMessage"]
    assert any("app.py" in frame for frame in error["stackTrace"])


def test_invoke_timeout_kills_the_environment(spec_for) -> None:
    spec = spec_for("import time\ndef handler(e, c):\n    time.sleep(30)\n", timeout_s=1.0)
    environment, outcome = invoke_once(spec)
    assert outcome.status == "timeout"
    assert "Task timed out after 1.00 seconds" in json.loads(outcome.payload)["errorMessage"]
    assert not environment.alive


def test_runtime_exit_during_invoke(spec_for) -> None:
    spec = spec_for("import os\ndef handler(e, c):\n    os._exit(7)\n")
    _, outcome = invoke_once(spec)
    assert outcome.status == "exited"
    assert "Runtime exited with error: exit status 7" in json.loads(outcome.payload)["errorMessage"]


def test_init_error_is_reported_with_the_functions_message(spec_for) -> None:
    spec = spec_for("raise RuntimeError('no config')\n")
    environment = ExecutionEnvironment(spec)
    try:
        outcome = environment.start()
    finally:
        environment.kill()
    assert not outcome.ok and outcome.status == "error"
    assert outcome.error and outcome.error["errorType"] == "RuntimeError"
    assert "no config" in outcome.describe
    assert "no config" in environment.init_output()


def test_environments_run_side_by_side(spec_for) -> None:
    spec = spec_for("import os\ndef handler(e, c):\n    return os.getpid()\n")
    environments = [ExecutionEnvironment(spec) for _ in range(2)]
    results: list[int] = []
    try:
        for environment in environments:
            assert environment.start().ok
        threads = [
            threading.Thread(
                target=lambda env=env: results.append(json.loads(env.invoke(b"{}").payload))
            )
            for env in environments
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for environment in environments:
            environment.kill()
    assert len(set(results)) == 2
