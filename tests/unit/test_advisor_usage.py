"""advisor.usage: the usage trace the child writes, read into records."""

from __future__ import annotations

import json

from coldprof.advisor.usage import InvocationUsage, parse_usage
from coldprof.results.advisor import InitSideEffects

TRACE = {
    "tracer": "sys.monitoring",
    "python": "3.12.1",
    "cwd": "/var/task",
    "init": {
        "code": [["lib/a.py", "app.py"], ["broken"]],
        "calls": [["_json", "app.py"]],
        "effects": {
            "network": ["connect example.com:443"],
            "dns": ["example.com:443", "example.com:443"],
            "subprocesses": [],
            "opens": 12,
            "module_opens": 10,
            "other_opens": [f"/etc/f{i}" for i in range(30)],
        },
    },
    "invocations": [{"files": ["lib/a.py"], "modules": ["_json"]}, "not a record"],
}


def test_a_trace_reads_into_records() -> None:
    usage = parse_usage(json.dumps(TRACE))
    assert usage is not None
    assert (usage.tracer, usage.python, usage.cwd) == ("sys.monitoring", "3.12.1", "/var/task")
    assert usage.init_code == (("lib/a.py", "app.py"),)  # the malformed pair is dropped
    assert usage.init_calls == (("_json", "app.py"),)
    assert usage.invocations == (InvocationUsage(("lib/a.py",), ("_json",)),)
    effects = usage.effects
    assert effects.dns == ("example.com:443",)  # once each
    assert (effects.file_opens, effects.module_file_opens) == (12, 10)
    assert effects.other_files == tuple(f"/etc/f{i}" for i in range(20))
    assert effects.findings[0].startswith("network at init: connect example.com:443, resolve")


def test_no_trace_or_an_unreadable_one_is_none() -> None:
    assert parse_usage("") is None
    assert parse_usage("{truncated") is None
    assert parse_usage("[1, 2]") is None
    empty = parse_usage("{}")
    assert empty is not None and empty.effects == InitSideEffects() and empty.invocations == ()
