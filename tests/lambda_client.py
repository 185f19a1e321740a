"""Driving the local emulator from tests: boto3 clients, functions created from source, logs."""

from __future__ import annotations

import base64
import io
import json
import re
import textwrap
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from api_shapes import check_responses
from coldprof.aws.report import InvokeReport, parse_log

ROLE = "arn:aws:iam::123456789012:role/coldprof-test"
FAST_WAIT = {"Delay": 0.1, "MaxAttempts": 100}
REGION = "eu-west-1"

# A handler that says which process ran it, with what environment and memory.
PID_HANDLER = """
import os
def handler(event, context):
    return {"pid": os.getpid(), "env": os.environ.get("XX"), "memory": context.memory_limit_in_mb}
"""


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


def client_for(url: str, service: str = "lambda", validate: bool = True) -> Any:
    """A boto3 client for the emulator at ``url`` whose every response is checked against
    botocore's model; one attempt per call, bounded in time. ``validate=False`` lets a request
    botocore would refuse reach the emulator, to see it refused there."""
    config = Config(
        retries={"total_max_attempts": 1},
        read_timeout=60,
        connect_timeout=5,
        parameter_validation=validate,
    )
    return check_responses(
        boto3.client(service, endpoint_url=url, region_name=REGION, config=config)
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(client: Any, source: str, wait: bool = True, **settings: Any) -> str:
    """Create a function from one handler module (app.py) and wait until it is Active."""
    name = settings.pop("FunctionName", None) or unique("fn")
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=settings.pop("Handler", "app.handler"),
        Code={"ZipFile": make_zip({"app.py": source})},
        **settings,
    )
    if wait:
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    return name


def invoke(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[Any, str, dict]:
    """Invoke with LogType=Tail; returns (decoded payload, log tail, raw response)."""
    response = client.invoke(
        FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail", **kwargs
    )
    payload = json.loads(response["Payload"].read() or b"null")
    log = base64.b64decode(response["LogResult"]).decode("utf-8", "replace")
    return payload, log, response


def report_of(log: str) -> InvokeReport:
    reports = parse_log(log).reports
    assert len(reports) == 1, log
    return reports[0]


def processes_with(marker: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def read_until(stream: Any, pattern: str, deadline: float) -> re.Match[str]:
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError("emulator said:\n" + "".join(seen))
