"""The advisor's report (what init imports that no invocation ran) and its JSON form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coldprof.results.serial import JSONObject, fields_dict, optional_float

# Where an analyze result's JSON keeps the advisor's report (after every other key, as ever).
ADVISOR_KEY = "advisor"
_OUTPUT_TAIL = 4000  # characters of a failed invocation's log kept in the report


@dataclass(frozen=True)
class EventRun:
    """One ``--event`` handed to the handler in the traced environment."""

    event: str
    ok: bool
    status: str  # "ok", "error", "timeout", "exited", "not run"
    duration_ms: float = 0.0
    error_type: str | None = None
    error_message: str | None = None
    output: str = ""  # the function's log, kept when it failed
    response_digest: str = ""  # sha256 of the response, to compare the --verify copy's
    used: tuple[str, ...] = ()  # dependencies whose code ran

    @classmethod
    def of(
        cls, event: str, ok: bool, status: str, duration_ms: float, payload: bytes, log: str
    ) -> EventRun:
        error_type = error_message = None
        if not ok:
            try:
                body = json.loads(payload)
            except ValueError:
                body = {}
            if isinstance(body, dict):
                error_type = body.get("errorType")
                error_message = body.get("errorMessage")
        return cls(
            event=event,
            ok=ok,
            status=status,
            duration_ms=round(duration_ms, 3),
            error_type=str(error_type) if error_type else None,
            error_message=str(error_message) if error_message else None,
            output="" if ok else log[-_OUTPUT_TAIL:],
            response_digest=hashlib.sha256(payload).hexdigest()[:16],
        )

    def describe(self) -> str:
        if self.ok:
            return "ok"
        if self.error_type or self.error_message:
            return f"{self.error_type or 'Error'}: {self.error_message or ''}".rstrip(": ")
        return self.status

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventRun:
        return cls(
            event=str(data.get("event", "")),
            ok=bool(data.get("ok", False)),
            status=str(data.get("status", "")),
            duration_ms=float(data.get("duration_ms", 0.0)),
            error_type=data.get("error_type"),
            error_message=data.get("error_message"),
            output=str(data.get("output", "")),
            response_digest=str(data.get("response_digest", "")),
            used=tuple(data.get("used", ())),
        )


@dataclass(frozen=True)
class ImportSite:
    """One import statement in the function's own code that loads a deferrable dependency."""

    file: str  # relative to the task root (the function directory's layout)
    line: int
    statement: str  # the whole statement, on one line
    imports: str  # just the part that imports this dependency: ``import requests``
    module: str  # the function module it is in
    functions: tuple[str, ...] = ()  # where the import would go: the functions that use it
    reason: str | None = None  # why it cannot be moved automatically

    @property
    def movable(self) -> bool:
        return self.reason is None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> JSONObject:
        keys = ("file", "line", "statement", "imports", "module", "functions", "movable", "reason")
        return fields_dict(self, keys, movable=self.movable)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportSite:
        return cls(
            file=str(data.get("file", "")),
            line=int(data.get("line", 0)),
            statement=str(data.get("statement", "")),
            imports=str(data.get("imports", "")),
            module=str(data.get("module", "")),
            functions=tuple(data.get("functions", ())),
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class Deferrable:
    """A dependency init pays for that no given invocation used: the finding."""

    name: str
    kind: str
    version: str | None
    saving_ms: float  # its inclusive_ms: what deferring it takes off init
    pulls: tuple[str, ...] = ()  # unused dependencies it brings in, included in the saving
    sites: tuple[ImportSite, ...] = ()
    fix: str = ""

    @property
    def movable(self) -> bool:
        return bool(self.sites) and all(s.movable for s in self.sites)

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deferrable:
        return cls(
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "third-party")),
            version=data.get("version"),
            saving_ms=float(data.get("saving_ms", 0.0)),
            pulls=tuple(data.get("pulls", ())),
            sites=tuple(ImportSite.from_dict(s) for s in data.get("sites", ())),
            fix=str(data.get("fix", "")),
        )


@dataclass(frozen=True)
class KeptDependency:
    """A dependency imported at init by the function's code that must stay there, and why."""

    name: str
    reason: str
    used_by: tuple[str, ...] = ()  # the events whose invocations ran its code

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeptDependency:
        return cls(
            str(data.get("name", "")), str(data.get("reason", "")), tuple(data.get("used_by", ()))
        )


@dataclass(frozen=True)
class FirstCallImport:
    """A dependency an invocation imported itself and ran: init does not pay for it, the first
    invocation does."""

    name: str
    import_ms: float | None  # the first invocation's import of it (timed runs); None: unknown
    used_by: tuple[str, ...] = ()

    def describe(self) -> str:
        cost = (
            f"its import ({self.import_ms:,.1f} ms)" if self.import_ms is not None else "its import"
        )
        return (
            f"{self.name}: imported inside the handler, not at init, and run by "
            f"{', '.join(self.used_by)}: {cost} moved from init to the first invocation"
        )

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FirstCallImport:
        return cls(
            str(data.get("name", "")),
            optional_float(data, "import_ms"),
            tuple(data.get("used_by", ())),
        )


@dataclass(frozen=True)
class InitSideEffects:
    """What the function's init did besides importing, seen through audit hooks."""

    network: tuple[str, ...] = ()  # "connect host:port"
    dns: tuple[str, ...] = ()  # "host:port" look-ups
    subprocesses: tuple[str, ...] = ()
    file_opens: int = 0
    module_file_opens: int = 0  # of which the import system reading .py/.pyc files
    other_files: tuple[str, ...] = ()  # the first files opened by code, not by imports

    @property
    def findings(self) -> list[str]:
        found = []
        if self.network or self.dns:
            what = [*self.network, *(f"resolve {d}" for d in self.dns)]
            found.append(
                f"network at init: {', '.join(what[:5])}"
                + (f" (+{len(what) - 5} more)" if len(what) > 5 else "")
                + ". Every cold start waits on it; connect on first use instead."
            )
        if self.subprocesses:
            found.append(
                f"subprocess at init: {', '.join(self.subprocesses[:3])}. Starting a process "
                "costs every cold start; do it on first use, or not at all."
            )
        return found

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InitSideEffects:
        return cls(
            network=tuple(data.get("network", ())),
            dns=tuple(data.get("dns", ())),
            subprocesses=tuple(data.get("subprocesses", ())),
            file_opens=int(data.get("file_opens", 0)),
            module_file_opens=int(data.get("module_file_opens", 0)),
            other_files=tuple(data.get("other_files", ())),
        )


@dataclass(frozen=True)
class Verification:
    """``--verify``: init of a rewritten copy with the imports deferred, against the original."""

    deferred: tuple[str, ...]  # the dependencies whose imports the copy defers
    rewrites: tuple[str, ...]  # "app.py:4 import requests → lambda_handler()"
    skipped: tuple[str, ...]  # findings left alone, with why
    predicted_ms: float  # the advisor's saving for ``deferred``, pulls included, once each
    measured_ms: float | None  # original init median − rewritten init median
    original_init_ms: float
    rewritten_init_ms: float | None
    runs: int
    still_imported: tuple[str, ...] = ()  # deferred dependencies the copy still imports at init
    behaviour: str = ""  # how the copy handled the same events
    note: str | None = None
    original_samples: tuple[float, ...] = ()  # init ms, in the order they ran
    rewritten_samples: tuple[float, ...] = ()

    @property
    def ratio(self) -> float | None:
        if self.measured_ms is None or self.predicted_ms <= 0:
            return None
        return self.measured_ms / self.predicted_ms

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verification:
        return cls(
            deferred=tuple(data.get("deferred", ())),
            rewrites=tuple(data.get("rewrites", ())),
            skipped=tuple(data.get("skipped", ())),
            predicted_ms=float(data.get("predicted_ms", 0.0)),
            measured_ms=optional_float(data, "measured_ms"),
            original_init_ms=float(data.get("original_init_ms", 0.0)),
            rewritten_init_ms=optional_float(data, "rewritten_init_ms"),
            runs=int(data.get("runs", 0)),
            still_imported=tuple(data.get("still_imported", ())),
            behaviour=str(data.get("behaviour", "")),
            note=data.get("note"),
            original_samples=tuple(float(x) for x in data.get("original_samples", ())),
            rewritten_samples=tuple(float(x) for x in data.get("rewritten_samples", ())),
        )


@dataclass(frozen=True)
class AdvisorReport:
    """The advisor's findings: ``AnalyzeResult.advisor``, saved under ``"advisor"``."""

    tracer: str  # "sys.monitoring" or "sys.setprofile"
    python: str
    events: tuple[EventRun, ...]
    deferrable: tuple[Deferrable, ...]
    total_saving_ms: float  # all findings together, what they pull in counted once
    kept: tuple[KeptDependency, ...] = ()
    side_effects: InitSideEffects = field(default_factory=InitSideEffects)
    verification: Verification | None = None
    notes: tuple[str, ...] = ()
    first_call: tuple[FirstCallImport, ...] = ()  # imported and run by invocations, not init

    @property
    def failed_events(self) -> list[EventRun]:
        return [e for e in self.events if not e.ok]

    @property
    def findings(self) -> list[str]:
        """One line per finding, for summaries (audit, headlines)."""
        lines = [
            f"{d.name}: {d.saving_ms:.1f} ms deferrable"
            + (f" ({d.sites[0].where})" if d.sites else "")
            for d in self.deferrable
        ]
        return lines + self.side_effects.findings

    def to_dict(self) -> JSONObject:
        return fields_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdvisorReport:
        verification = data.get("verification")
        return cls(
            tracer=str(data.get("tracer", "")),
            python=str(data.get("python", "")),
            events=tuple(EventRun.from_dict(e) for e in data.get("events", ())),
            deferrable=tuple(Deferrable.from_dict(d) for d in data.get("deferrable", ())),
            total_saving_ms=float(data.get("total_saving_ms", 0.0)),
            kept=tuple(KeptDependency.from_dict(k) for k in data.get("kept", ())),
            side_effects=InitSideEffects.from_dict(data.get("side_effects") or {}),
            verification=Verification.from_dict(verification) if verification else None,
            notes=tuple(data.get("notes", ())),
            first_call=tuple(FirstCallImport.from_dict(f) for f in data.get("first_call", ())),
        )
