"""UpdateFunctionCode, and the download of a code package GetFunction's Code.Location names."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from coldprof.emulator import fields
from coldprof.emulator.operations.configuration import function_configuration
from coldprof.emulator.registry import FunctionRef, now_iso
from coldprof.emulator.responses import ApiError, Response, invalid, json_response
from coldprof.emulator.service import Emulator


def update_code(emulator: Emulator, ref: FunctionRef, body: Mapping[str, Any]) -> Response:
    """UpdateFunctionCode from a ZipFile: new $LATEST code; its environments are retired."""
    registry = emulator.registry
    with registry.lock:
        fn = registry.find(ref)
        fn.check_not_updating(time.monotonic())
        fn.check_revision(body.get("RevisionId"))
    if any(body.get(k) for k in ("S3Bucket", "S3Key", "ImageUri")):
        raise invalid("the emulator accepts a ZipFile only (no S3 or image URIs)")
    package = registry.unpack(body.get("ZipFile"))
    if body.get("DryRun"):
        registry.discard(package)
        with registry.lock:
            settings = replace(fn.latest, code=package)
            return json_response(
                200, function_configuration(emulator, fn, settings, time.monotonic())
            )
    try:
        architectures = (
            fields.architectures(body["Architectures"]) if "Architectures" in body else None
        )
    except ApiError:
        registry.discard(package)
        raise
    with registry.lock:
        now = time.monotonic()
        try:
            fn.check_not_updating(now)
        except ApiError:
            registry.discard(package)
            raise
        changes: dict[str, Any] = {"code": package}
        if architectures:
            changes["architectures"] = architectures
        fn.latest = replace(
            fn.latest, **changes, revision_id=str(uuid.uuid4()), last_modified=now_iso()
        )
        fn.packages.append(package)
        fn.updating_until = now + emulator.options.update_seconds
        retired = emulator.pool.retire(fn, "$LATEST")
        if body.get("Publish"):
            fn.publish(None)
        emulator.pool.collect_code(fn)
        document = function_configuration(emulator, fn, fn.latest, now)
    emulator.pool.kill_all(retired)
    emulator.on_log(f"{fn.name}: code updated ({package.size} bytes); environments retired")
    return json_response(200, document)


def download_code(emulator: Emulator, name: str, package_id: str) -> Response:
    """The zip of one of a function's code packages, as Code.Location serves it."""
    with emulator.registry.lock:
        package = emulator.registry.package(name, package_id)
        if package is not None:
            return Response(200, package.zip_path.read_bytes(), {}, "application/zip")
    raise ApiError("ResourceNotFoundException", f"no code package {package_id} for {name}")
