"""GetFunctionConfiguration, UpdateFunctionConfiguration, and the FunctionConfiguration document."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from coldprof.emulator import fields
from coldprof.emulator.registry import Function, FunctionRef, FunctionSettings, now_iso
from coldprof.emulator.responses import Response, json_response
from coldprof.emulator.service import Emulator


def function_configuration(
    emulator: Emulator, fn: Function, settings: FunctionSettings, now: float
) -> dict[str, Any]:
    """FunctionConfiguration as the API returns it."""
    version = settings.version
    doc: dict[str, Any] = {
        "FunctionName": fn.name,
        "FunctionArn": fn.arn if version == "$LATEST" else f"{fn.arn}:{version}",
        "Runtime": settings.runtime,
        "Role": settings.role,
        "Handler": settings.handler,
        "CodeSize": settings.code.size,
        "Description": settings.description,
        "Timeout": settings.timeout_s,
        "MemorySize": settings.memory_mb,
        "LastModified": settings.last_modified,
        "CodeSha256": settings.code.sha256,
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": settings.revision_id,
        "PackageType": "Zip",
        "Architectures": list(settings.architectures),
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        # Says which interpreter really runs the code, whatever Runtime names.
        "RuntimeVersionConfig": {
            "RuntimeVersionArn": f"arn:aws:lambda:{fn.region}::runtime:"
            f"coldprof-local-python{emulator.runtimes.resolve(settings.runtime).version}"
        },
        "LoggingConfig": _logging_config(settings),
    }
    if settings.env:
        doc["Environment"] = {"Variables": dict(settings.env)}
    if settings.layers:
        doc["Layers"] = [{"Arn": arn, "CodeSize": 0} for arn in settings.layers]
    pending = version == "$LATEST" and fn.state(now) == "Pending"
    doc["State"] = "Pending" if pending else "Active"
    if pending:
        doc["StateReason"] = "The function is being created."
        doc["StateReasonCode"] = "Creating"
    if version == "$LATEST" and fn.updating(now):
        doc["LastUpdateStatus"] = "InProgress"
        doc["LastUpdateStatusReason"] = (
            "The function is being created." if pending else ("The function is being updated.")
        )
    else:
        doc["LastUpdateStatus"] = "Successful"
    return doc


def _logging_config(settings: FunctionSettings) -> dict[str, str]:
    logging = {"LogFormat": settings.log_format, "LogGroup": settings.log_group}
    if settings.log_format == "JSON":
        logging["ApplicationLogLevel"] = settings.application_log_level or "INFO"
        logging["SystemLogLevel"] = settings.system_log_level or "INFO"
    return logging


def get_configuration(emulator: Emulator, ref: FunctionRef, query: Mapping[str, str]) -> Response:
    """GetFunctionConfiguration: one version's settings."""
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        settings = fn.settings(fields.qualifier(ref, query))
        return json_response(200, function_configuration(emulator, fn, settings, time.monotonic()))


def update_configuration(emulator: Emulator, ref: FunctionRef, body: Mapping[str, Any]) -> Response:
    """UpdateFunctionConfiguration: new $LATEST settings; its environments are retired."""
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        now = time.monotonic()
        fn.check_not_updating(now)
        fn.check_revision(body.get("RevisionId"))
        settings = fields.apply_settings(fn.latest, body, fn.name, emulator.on_log)
        fn.latest = replace(settings, revision_id=str(uuid.uuid4()), last_modified=now_iso())
        fn.updating_until = now + emulator.options.update_seconds
        retired = emulator.pool.retire(fn, "$LATEST")
        document = function_configuration(emulator, fn, fn.latest, now)
    emulator.pool.kill_all(retired)
    emulator.on_log(f"{fn.name}: configuration updated; environments retired")
    return json_response(200, document)
