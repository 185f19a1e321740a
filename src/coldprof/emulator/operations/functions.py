"""CreateFunction, GetFunction, ListFunctions and DeleteFunction."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from coldprof.emulator import fields
from coldprof.emulator.operations.configuration import function_configuration
from coldprof.emulator.registry import (
    Function,
    FunctionRef,
    FunctionSettings,
    now_iso,
    parse_function_ref,
)
from coldprof.emulator.responses import ApiError, Response, invalid, json_response
from coldprof.emulator.service import Emulator
from coldprof.runner.spec import DEFAULT_ACCOUNT


def create_function(emulator: Emulator, body: Mapping[str, Any], region: str) -> Response:
    """CreateFunction from a ZipFile: Pending for ``update_seconds``, then Active."""
    registry = emulator.registry
    name_value = body.get("FunctionName")
    if not isinstance(name_value, str):
        raise invalid("FunctionName is required")
    ref = parse_function_ref(name_value)
    if ref.qualifier:
        raise invalid("FunctionName must not carry a qualifier here")
    code = body.get("Code")
    if not isinstance(code, dict):
        raise invalid("Code is required")
    if "Runtime" not in body:
        raise invalid("Runtime is required for a Zip package; e.g. python3.12")
    if "Handler" not in body:
        raise invalid("Handler is required for a Zip package; e.g. app.handler")
    # Found (or installed) now, outside the lock.
    emulator.runtimes.resolve(fields.runtime(body["Runtime"]))
    with registry.lock:
        if ref.name in registry:
            raise ApiError("ResourceConflictException", f"Function already exist: {ref.name}")
    package = registry.unpack(code.get("ZipFile"))
    region = ref.region or region
    base = FunctionSettings(
        runtime="python3.12",
        handler="lambda_function.lambda_handler",
        role="",
        code=package,
        log_group=f"/aws/lambda/{ref.name}",
        last_modified=now_iso(),
    )
    try:
        settings = fields.apply_settings(base, body, ref.name, emulator.on_log)
    except ApiError:
        registry.discard(package)
        raise
    tags = body.get("Tags") if isinstance(body.get("Tags"), dict) else {}
    now = time.monotonic()
    with registry.lock:
        fn = Function(
            ref.name,
            region,
            ref.account or DEFAULT_ACCOUNT,
            settings,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            packages=[package],
            pending_until=now + emulator.options.update_seconds,
        )
        try:
            registry.add(fn)
        except ApiError:
            registry.discard(package)
            raise
        if body.get("Publish"):
            fn.publish(None)
        document = function_configuration(emulator, fn, fn.latest, now)
    emulator.on_log(f"{ref.name}: created ({settings.runtime}, {settings.memory_mb} MB)")
    runtime = emulator.runtimes.resolve(settings.runtime)
    if runtime.note:
        emulator.on_log(f"{ref.name}: note: {runtime.note}")
    return json_response(201, document)


def get_function(
    emulator: Emulator, ref: FunctionRef, query: Mapping[str, str], host: str
) -> Response:
    """GetFunction: a version's configuration, where to download its code, and its tags."""
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        settings = fn.settings(fields.qualifier(ref, query))
        document = {
            "Configuration": function_configuration(emulator, fn, settings, time.monotonic()),
            "Code": {
                "RepositoryType": "S3",
                # Served by the emulator itself, so a tool that downloads the code works.
                "Location": f"http://{host}/coldprof/code/{fn.name}/"
                f"{settings.code.zip_path.parent.name}.zip",
            },
        }
        if fn.tags:
            document["Tags"] = dict(fn.tags)
    return json_response(200, document)


def list_functions(emulator: Emulator, query: Mapping[str, str]) -> Response:
    """ListFunctions: every $LATEST, and every version too with FunctionVersion=ALL."""
    with emulator.registry.lock:
        now = time.monotonic()
        documents = []
        for fn in emulator.registry.all():
            documents.append(function_configuration(emulator, fn, fn.latest, now))
            if query.get("FunctionVersion") == "ALL":
                documents.extend(
                    function_configuration(emulator, fn, c, now) for c in fn.versions.values()
                )
    return json_response(200, fields.page(documents, query, "Functions"))


def delete_function(emulator: Emulator, ref: FunctionRef, query: Mapping[str, str]) -> Response:
    """DeleteFunction: the function (no qualifier) or one published version."""
    qualifier = fields.qualifier(ref, query)
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        if qualifier in (None, "", "$LATEST"):
            if qualifier == "$LATEST":
                raise invalid("$LATEST version cannot be deleted without deleting the function.")
            emulator.registry.remove(fn)
            retired = emulator.pool.retire(fn)
        else:
            fn.settings(qualifier)
            del fn.versions[qualifier or ""]
            retired = emulator.pool.retire(fn, qualifier)
    emulator.pool.kill_all(retired)
    emulator.pool.collect_code(fn)
    emulator.on_log(f"{fn.name}: deleted" + (f" version {qualifier}" if qualifier else ""))
    return Response(204)
