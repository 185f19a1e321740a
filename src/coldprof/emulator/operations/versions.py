"""PublishVersion and ListVersionsByFunction."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from coldprof.emulator import fields
from coldprof.emulator.operations.configuration import function_configuration
from coldprof.emulator.registry import FunctionRef
from coldprof.emulator.responses import Response, invalid, json_response
from coldprof.emulator.service import Emulator


def publish_version(emulator: Emulator, ref: FunctionRef, body: Mapping[str, Any]) -> Response:
    """PublishVersion: $LATEST's settings frozen as the next version, unless unchanged."""
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        now = time.monotonic()
        fn.check_not_updating(now)
        fn.check_revision(body.get("RevisionId"))
        wanted = body.get("CodeSha256")
        if wanted and wanted != fn.latest.code.sha256:
            raise invalid(
                f"CodeSHA256 ({wanted}) is different from current CodeSHA256 in $LATEST "
                f"({fn.latest.code.sha256}). Please try again with the CodeSHA256 in $LATEST."
            )
        description = body.get("Description")
        settings = fn.publish(description if isinstance(description, str) else None)
        document = function_configuration(emulator, fn, settings, now)
    emulator.on_log(f"{fn.name}: published version {settings.version}")
    return json_response(201, document)


def list_versions(emulator: Emulator, ref: FunctionRef, query: Mapping[str, str]) -> Response:
    """ListVersionsByFunction: $LATEST, then each published version."""
    with emulator.registry.lock:
        fn = emulator.registry.find(ref)
        now = time.monotonic()
        documents = [function_configuration(emulator, fn, fn.latest, now)]
        documents.extend(function_configuration(emulator, fn, c, now) for c in fn.versions.values())
    return json_response(200, fields.page(documents, query, "Versions"))
