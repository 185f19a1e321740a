"""Pure: what init imports that the invocations never ran, where your code imports it, the fix.

Inputs are an analyze result (its merged import tree and per-dependency costs), the usage trace
the traced cold start wrote (environment.USAGE_TRACER), and how each ``--event`` invocation went.
Output is an ``AdvisorReport``, stored in ``AnalyzeResult.extras["advisor"]``.

A dependency is *deferrable* when it was imported at init, none of its code ran during any of
the given invocations (Python code, or a C function it defines), and your module-level code did
not call into it at init. It is reported where your own code imports it; what it pulls in
(requests → urllib3, idna, ...) is listed under it and never counted twice in the total.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from coldprof.measure.distributions import (
    FUNCTION,
    KIND_FUNCTION,
    KIND_RUNTIME,
    KIND_THIRD_PARTY,
    UNRESOLVED,
    DependencyRef,
)
from coldprof.results.models import ADVISOR_KEY, AnalyzeResult, ImportTreeNode

if TYPE_CHECKING:
    from coldprof.audit.core import Finding
from coldprof.advisor.rewrite import Deferral, ImportStatement, module_imports, plan_deferrals

# Dependencies a function chooses to import, and so can choose to import later.
CANDIDATE_KINDS = (KIND_THIRD_PARTY, KIND_RUNTIME)
LAZY_IMPORT_PYTHON = (3, 15)  # PEP 810
_OUTPUT_TAIL = 4000  # characters of a failed invocation's log kept in the report


class Resolver(Protocol):
    """What the advisor needs from distributions.Attribution."""

    def dependency_of(self, module: str) -> DependencyRef: ...

    def dependency_of_file(self, file: str | Path) -> DependencyRef | None: ...

    def source_file(self, module: str) -> Path | None: ...


# -- the usage trace the child wrote ------------------------------------------------------
@dataclass(frozen=True)
class InvocationUsage:
    files: tuple[str, ...]  # code files that ran
    modules: tuple[str, ...]  # modules of the C functions called


@dataclass(frozen=True)
class UsageTrace:
    """The traced cold start's record (see environment.USAGE_TRACER)."""

    tracer: str
    python: str
    cwd: str
    init_code: tuple[tuple[str, str], ...]  # (code file, module body file it ran under)
    init_calls: tuple[tuple[str, str], ...]  # (C function's module, module body file)
    effects: Mapping[str, Any]
    invocations: tuple[InvocationUsage, ...]


def parse_usage(text: str) -> UsageTrace | None:
    """Read the child's JSON usage trace; None when there is none or it cannot be read."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    init = data.get("init") or {}

    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        return tuple(
            (str(p[0]), str(p[1])) for p in init.get(key, ()) if isinstance(p, list) and len(p) == 2
        )

    return UsageTrace(
        tracer=str(data.get("tracer", "")),
        python=str(data.get("python", "")),
        cwd=str(data.get("cwd", "")),
        init_code=pairs("code"),
        init_calls=pairs("calls"),
        effects=init.get("effects") or {},
        invocations=tuple(
            InvocationUsage(tuple(i.get("files", ())), tuple(i.get("modules", ())))
            for i in data.get("invocations", ())
            if isinstance(i, dict)
        ),
    )


# -- records --------------------------------------------------------------------------------
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "ok": self.ok,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "output": self.output,
            "response_digest": self.response_digest,
            "used": list(self.used),
        }

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "statement": self.statement,
            "imports": self.imports,
            "module": self.module,
            "functions": list(self.functions),
            "movable": self.movable,
            "reason": self.reason,
        }

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "saving_ms": self.saving_ms,
            "pulls": list(self.pulls),
            "sites": [s.to_dict() for s in self.sites],
            "fix": self.fix,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deferrable:
        return cls(
            name=str(data.get("name", "")),
            kind=str(data.get("kind", KIND_THIRD_PARTY)),
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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason, "used_by": list(self.used_by)}

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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "import_ms": self.import_ms, "used_by": list(self.used_by)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FirstCallImport:
        cost = data.get("import_ms")
        return cls(
            str(data.get("name", "")),
            None if cost is None else float(cost),
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": list(self.network),
            "dns": list(self.dns),
            "subprocesses": list(self.subprocesses),
            "file_opens": self.file_opens,
            "module_file_opens": self.module_file_opens,
            "other_files": list(self.other_files),
        }

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "deferred": list(self.deferred),
            "rewrites": list(self.rewrites),
            "skipped": list(self.skipped),
            "predicted_ms": self.predicted_ms,
            "measured_ms": self.measured_ms,
            "original_init_ms": self.original_init_ms,
            "rewritten_init_ms": self.rewritten_init_ms,
            "runs": self.runs,
            "still_imported": list(self.still_imported),
            "behaviour": self.behaviour,
            "note": self.note,
            "original_samples": list(self.original_samples),
            "rewritten_samples": list(self.rewritten_samples),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verification:
        def optional(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(
            deferred=tuple(data.get("deferred", ())),
            rewrites=tuple(data.get("rewrites", ())),
            skipped=tuple(data.get("skipped", ())),
            predicted_ms=float(data.get("predicted_ms", 0.0)),
            measured_ms=optional("measured_ms"),
            original_init_ms=float(data.get("original_init_ms", 0.0)),
            rewritten_init_ms=optional("rewritten_init_ms"),
            runs=int(data.get("runs", 0)),
            still_imported=tuple(data.get("still_imported", ())),
            behaviour=str(data.get("behaviour", "")),
            note=data.get("note"),
            original_samples=tuple(float(x) for x in data.get("original_samples", ())),
            rewritten_samples=tuple(float(x) for x in data.get("rewritten_samples", ())),
        )


@dataclass(frozen=True)
class AdvisorReport:
    """The advisor's findings, as stored under ``extras["advisor"]``."""

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracer": self.tracer,
            "python": self.python,
            "events": [e.to_dict() for e in self.events],
            "deferrable": [d.to_dict() for d in self.deferrable],
            "total_saving_ms": self.total_saving_ms,
            "kept": [k.to_dict() for k in self.kept],
            "side_effects": self.side_effects.to_dict(),
            "verification": self.verification.to_dict() if self.verification else None,
            "notes": list(self.notes),
            "first_call": [f.to_dict() for f in self.first_call],
        }

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


def report_of(result: AnalyzeResult) -> AdvisorReport | None:
    """The advisor's report inside an analyze result (also one loaded from JSON), if any."""
    data = result.extras.get(ADVISOR_KEY)
    return AdvisorReport.from_dict(data) if isinstance(data, Mapping) else None


def deferrable_findings(result: AnalyzeResult, threshold_ms: float) -> list[Deferrable]:
    """The deferrable dependencies that would each save at least ``threshold_ms`` of init.

    For ``coldprof audit --fail-on-deferrable-ms N``: each returned item is one finding. An
    analyze result without the advisor's report (no ``--event``/``--verify``) has none.
    """
    report = report_of(result)
    if report is None:
        return []
    return [d for d in report.deferrable if d.saving_ms >= threshold_ms]


RULE_DEFERRABLE = "fail-on-deferrable-ms"


def deferrable_audit_findings(result: AnalyzeResult, threshold_ms: float) -> list[Finding]:
    """``deferrable_findings`` as audit findings (rule ``fail-on-deferrable-ms``)."""
    from coldprof.audit.core import Finding

    return [
        Finding(
            rule=RULE_DEFERRABLE,
            subject=d.name,
            message=(
                f"{d.name} is imported at init but no --event ran its code: "
                f"{d.saving_ms:,.1f} ms deferrable (limit {threshold_ms:g} ms). Fix: {d.fix}"
            ),
            measured=d.saving_ms,
            limit=threshold_ms,
        )
        for d in deferrable_findings(result, threshold_ms)
    ]


# -- the analysis ---------------------------------------------------------------------------
def python_version(text: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@dataclass(frozen=True)
class _Entry:
    """Where a dependency's import starts in the merged tree, and what led there."""

    node: ImportTreeNode
    ancestors: tuple[ImportTreeNode, ...]


def _entries(roots: Sequence[ImportTreeNode]) -> dict[str, list[_Entry]]:
    """Each dependency's outermost nodes: the imports that brought it in."""
    found: dict[str, list[_Entry]] = defaultdict(list)
    stack: list[tuple[ImportTreeNode, tuple[ImportTreeNode, ...]]] = [(r, ()) for r in roots]
    while stack:
        node, ancestors = stack.pop()
        if not ancestors or ancestors[-1].dependency != node.dependency:
            found[node.dependency].append(_Entry(node, ancestors))
        stack.extend((child, (*ancestors, node)) for child in node.children)
    return found


def tree_saving(roots: Sequence[ImportTreeNode], deferred: Iterable[str]) -> float:
    """Init ms of every import a set of dependencies starts, each subtree counted once."""
    names = set(deferred)
    total = 0.0
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.dependency in names:
            total += node.cumulative_ms  # its subtree, pulled-in dependencies included
        else:
            stack.extend(node.children)
    return round(total, 3)


def _absolute_file(file: str, cwd: str) -> str:
    """A code file as the child named it, made absolute against the child's cwd."""
    if file.startswith("<") or os.path.isabs(file) or not cwd:
        return file
    return os.path.join(cwd, file)


def _used_by_invocation(
    usage: UsageTrace, resolver: Resolver, candidates: set[str]
) -> list[set[str]]:
    """Per invocation, the dependencies whose code ran: those init imported, and those the
    invocation imported itself (a handler's own ``import igraph``) and so ran."""

    def counts(ref: DependencyRef | None) -> bool:
        return ref is not None and (ref.name in candidates or ref.kind in CANDIDATE_KINDS)

    per_invocation = []
    for invocation in usage.invocations:
        names = set()
        for file in invocation.files:
            ref = resolver.dependency_of_file(_absolute_file(file, usage.cwd))
            if ref is not None and counts(ref):
                names.add(ref.name)
        for module in invocation.modules:
            ref = resolver.dependency_of(module)
            if counts(ref) and ref.name != UNRESOLVED:
                names.add(ref.name)
        per_invocation.append(names)
    return per_invocation


def _needed_at_init(usage: UsageTrace, resolver: Resolver, candidates: set[str]) -> dict[str, str]:
    """Dependencies the function's own module-level code called into during init → where."""
    needed: dict[str, str] = {}

    def body_is_function(body: str) -> bool:
        ref = resolver.dependency_of_file(_absolute_file(body, usage.cwd))
        return ref is not None and ref.kind == KIND_FUNCTION

    for code, body in usage.init_code:
        ref = resolver.dependency_of_file(_absolute_file(code, usage.cwd))
        if ref is not None and ref.name in candidates and body_is_function(body):
            needed.setdefault(ref.name, body)
    for module, body in usage.init_calls:
        name = resolver.dependency_of(module).name
        if name in candidates and body_is_function(body):
            needed.setdefault(name, body)
    return needed


def _imported_by_function(entries: Mapping[str, list[_Entry]]) -> set[str]:
    """Dependencies the function's own code brought in (the runtime's own imports excluded)."""
    return {
        name
        for name, found in entries.items()
        if any(a.dependency == FUNCTION for entry in found for a in entry.ancestors)
    }


@dataclass
class _Classified:
    roots: dict[str, set[str]] = field(default_factory=dict)  # root → function modules
    pulled: dict[str, set[str]] = field(default_factory=dict)  # dependency → its pullers
    kept: dict[str, str] = field(default_factory=dict)  # dependency → why it stays


def _classify(
    entries: Mapping[str, list[_Entry]], unused: set[str], candidates: set[str]
) -> _Classified:
    out = _Classified()
    for name, found in entries.items():
        if name not in unused:
            continue
        blocked = None
        direct: set[str] = set()
        pullers: set[str] = set()
        by_user = False
        for entry in found:
            intermediates = []
            function_module = None
            for ancestor in reversed(entry.ancestors):
                if ancestor.dependency == FUNCTION:
                    function_module = ancestor.module
                    break
                intermediates.append(ancestor.dependency)
            if function_module is None:
                continue  # the runtime's own import, not the function's
            by_user = True
            holding = [d for d in intermediates if d in candidates and d not in unused]
            if holding:
                blocked = f"pulled in by {holding[-1]}, which stays"
            elif pulling := [d for d in intermediates if d in unused]:
                pullers.add(pulling[-1])
            else:
                direct.add(function_module)
        if not by_user:
            continue
        if blocked:
            out.kept[name] = blocked
        elif direct:
            out.roots[name] = direct
        else:
            out.pulled[name] = pullers
    # A dependency pulled in only by one that stays, stays too.
    changed = True
    while changed:
        changed = False
        for name, pullers in list(out.pulled.items()):
            staying = [p for p in pullers if p not in out.roots and p not in out.pulled]
            if staying:
                out.kept[name] = f"pulled in by {staying[0]}, which stays"
                del out.pulled[name]
                changed = True
    return out


def _root_of(name: str, pulled: Mapping[str, set[str]], roots: Mapping[str, Any]) -> set[str]:
    """The root findings a pulled dependency hangs from."""
    seen, todo, found = set(), [name], set()
    while todo:
        current = todo.pop()
        for puller in pulled.get(current, ()):
            if puller in roots:
                found.add(puller)
            elif puller not in seen:
                seen.add(puller)
                todo.append(puller)
    return found


def _binding_dependency(statement: ImportStatement, resolver: Resolver) -> list[str]:
    names = []
    for binding in statement.bindings:
        name = UNRESOLVED
        for candidate in binding.candidates:
            name = resolver.dependency_of(candidate).name
            if name != UNRESOLVED:
                break
        names.append(name)
    return names


def _relative(path: Path, task_root: Path) -> str:
    try:
        return str(path.relative_to(task_root))
    except ValueError:
        return str(path)


def import_sites(
    modules: Iterable[str], wanted: set[str], resolver: Resolver, task_root: Path
) -> dict[str, list[ImportSite]]:
    """Import statements in the function's own ``modules`` that load a ``wanted`` dependency."""
    sites: dict[str, list[ImportSite]] = defaultdict(list)
    for module in modules:
        source_file = resolver.source_file(module)
        if source_file is None:
            continue
        try:
            source = source_file.read_text(encoding="utf-8")
            statements = module_imports(source, module, source_file.name == "__init__.py")
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        matches: list[tuple[ImportStatement, str, list[int]]] = []
        targets: set[tuple[int, str]] = set()
        for statement in statements:
            owners = _binding_dependency(statement, resolver)
            for dependency in wanted & set(owners):
                picked = [i for i, owner in enumerate(owners) if owner == dependency]
                matches.append((statement, dependency, picked))
                targets.update((statement.line, statement.bindings[i].name) for i in picked)
        if not matches:
            continue
        verdicts = {
            (d.line, d.name): d
            for d in plan_deferrals(source, module, source_file.name == "__init__.py", targets)
        }
        for statement, dependency, picked in matches:
            bindings = [statement.bindings[i] for i in picked]
            verdict: list[Deferral] = [verdicts[(statement.line, b.name)] for b in bindings]
            functions = sorted({f for v in verdict for f in v.functions})
            reason = next((v.reason for v in verdict if v.reason), None)
            sites[dependency].append(
                ImportSite(
                    file=_relative(source_file, task_root),
                    line=statement.line,
                    statement=statement.source,
                    imports="; ".join(b.text for b in bindings),
                    module=module,
                    functions=tuple(functions),
                    reason=reason,
                )
            )
    return sites


def suggest_fix(sites: Sequence[ImportSite], python: str) -> str:
    """The fix that fits the runtime, for one finding."""
    if not sites:
        return "no import statement found in your code (a dynamic import?): defer it by hand"
    if python_version(python) >= LAZY_IMPORT_PYTHON:
        lazy = "; ".join(f"{s.where}: `lazy {s.imports}`" for s in sites)
        modules = sorted({s.imports.split()[1] for s in sites})
        return f"{lazy} (PEP 810), or list {', '.join(modules)} in `__lazy_modules__`"
    parts = []
    for site in sites:
        if not site.movable:
            parts.append(f"{site.where}: {site.reason}")
        elif site.functions:
            into = ", ".join(f"{f}()" for f in site.functions)
            parts.append(f"move `{site.imports}` ({site.where}) into {into}")
        else:
            parts.append(f"delete `{site.imports}` ({site.where}): its users import it themselves")
    return "; ".join(parts)


def _side_effects(usage: UsageTrace | None) -> InitSideEffects:
    if usage is None:
        return InitSideEffects()
    effects = usage.effects
    return InitSideEffects(
        network=tuple(map(str, effects.get("network", ()))),
        dns=tuple(dict.fromkeys(map(str, effects.get("dns", ())))),
        subprocesses=tuple(map(str, effects.get("subprocesses", ()))),
        file_opens=int(effects.get("opens", 0)),
        module_file_opens=int(effects.get("module_opens", 0)),
        other_files=tuple(map(str, effects.get("other_opens", ())))[:20],
    )


def advise(
    result: AnalyzeResult,
    usage: UsageTrace | None,
    events: Sequence[EventRun],
    resolver: Resolver,
    task_root: Path,
) -> AdvisorReport:
    """Find the deferrable dependencies of ``result`` given what the invocations ran."""
    costs = {d.name: d for d in result.dependencies}
    candidates = {d.name for d in result.dependencies if d.kind in CANDIDATE_KINDS}
    notes: list[str] = []
    if usage is None:
        notes.append("the traced cold start left no usage trace: nothing can be called unused")
        return AdvisorReport("", result.python, tuple(events), (), 0.0, notes=tuple(notes))

    per_invocation = _used_by_invocation(usage, resolver, candidates)
    runs = [
        replace(e, used=tuple(sorted(per_invocation[i]))) if i < len(per_invocation) else e
        for i, e in enumerate(events)
    ]
    if not events:
        notes.append(
            "no --event given: no invocation ran, so every dependency your code imports at "
            "init counts as deferrable; give the events your function handles to keep what "
            "they use"
        )
    if len(per_invocation) < sum(1 for e in events if e.status != "not run"):
        notes.append("some invocations left no usage record (the runtime died mid-invocation)")
    if usage.tracer == "sys.setprofile":
        notes.append(
            "traced with sys.setprofile (Python < 3.12): code run by threads started at init "
            "is not seen"
        )
    used_any = set().union(*per_invocation) if per_invocation else set()
    needed = _needed_at_init(usage, resolver, candidates)
    unused = candidates - used_any - set(needed)
    entries = _entries(result.imports)
    classified = _classify(entries, unused, candidates)

    kept: list[KeptDependency] = []
    for name in sorted(candidates & _imported_by_function(entries)):
        used_by = tuple(
            e.event for e, used in zip(runs, per_invocation, strict=False) if name in used
        )
        if used_by:
            every = len(used_by) == len(per_invocation)
            reason = "used by every event" if every else f"used only by {', '.join(used_by)}"
            kept.append(KeptDependency(name, reason, used_by))
        elif name in needed:
            where = _relative(Path(needed[name]), task_root)
            kept.append(KeptDependency(name, f"called by module-level code at init ({where})"))
        elif name in classified.kept:
            kept.append(KeptDependency(name, classified.kept[name]))

    function_modules = [
        node.module
        for root in result.imports
        for node in _walk(root)
        if node.dependency == FUNCTION
    ]
    sites = import_sites(
        dict.fromkeys(function_modules), set(classified.roots), resolver, task_root
    )

    deferrable = []
    for name in classified.roots:
        cost = costs[name]
        pulls = sorted(
            p for p in classified.pulled if name in _root_of(p, classified.pulled, classified.roots)
        )
        found = sorted(sites.get(name, []), key=lambda s: (s.file, s.line))
        deferrable.append(
            Deferrable(
                name=name,
                kind=cost.kind,
                version=cost.version,
                saving_ms=cost.inclusive_ms,
                pulls=tuple(pulls),
                sites=tuple(found),
                fix=suggest_fix(found, result.python),
            )
        )
    deferrable.sort(key=lambda d: (-d.saving_ms, d.name))
    first_call = _first_call_imports(result, runs, per_invocation, candidates)
    total = tree_saving(result.imports, [*classified.roots, *classified.pulled])
    return AdvisorReport(
        tracer=usage.tracer,
        python=usage.python or result.python,
        events=tuple(runs),
        deferrable=tuple(deferrable),
        total_saving_ms=total,
        kept=tuple(kept),
        side_effects=_side_effects(usage),
        notes=tuple(notes),
        first_call=first_call,
    )


def _first_call_imports(
    result: AnalyzeResult,
    runs: Sequence[EventRun],
    per_invocation: Sequence[set[str]],
    imported_at_init: set[str],
) -> tuple[FirstCallImport, ...]:
    """Dependencies invocations ran that init never imported, with the first invocation's
    import time of each where the timed runs measured it."""
    measured = (
        {i.name: i.inclusive_ms for i in result.first_invocation.imports}
        if result.first_invocation is not None
        else {}
    )
    found = []
    for name in sorted(set().union(*per_invocation) - imported_at_init if per_invocation else ()):
        used_by = tuple(
            e.event for e, used in zip(runs, per_invocation, strict=False) if name in used
        )
        found.append(FirstCallImport(name, measured.get(name), used_by))
    return tuple(found)


def _walk(node: ImportTreeNode) -> Iterable[ImportTreeNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


# -- --verify: which imports the copy defers ------------------------------------------------
@dataclass(frozen=True)
class RewritePlan:
    """What ``--verify`` changes in the copy, per file, and what it leaves alone."""

    deferred: tuple[str, ...]
    by_file: Mapping[str, tuple[ImportSite, ...]]  # relative file → sites to move
    skipped: tuple[str, ...]
    predicted_ms: float


def rewrite_plan(report: AdvisorReport, imports: Sequence[ImportTreeNode]) -> RewritePlan:
    """Defer every finding whose import sites can all move; predict what that saves."""
    deferred, skipped = [], []
    by_file: dict[str, list[ImportSite]] = defaultdict(list)
    for finding in report.deferrable:
        if finding.movable:
            deferred.append(finding.name)
            for site in finding.sites:
                by_file[site.file].append(site)
        else:
            why = next((f"{s.where}: {s.reason}" for s in finding.sites if s.reason), None)
            skipped.append(f"{finding.name}: {why or 'no import statement found'}")
    # What a deferred finding pulls in sits in its subtree: tree_saving counts it there.
    return RewritePlan(
        deferred=tuple(deferred),
        by_file={k: tuple(v) for k, v in by_file.items()},
        skipped=tuple(skipped),
        predicted_ms=tree_saving(imports, deferred),
    )


def plan_deferrals_for(sites: Sequence[ImportSite], source: str) -> list[Deferral]:
    """The rewrite's verdicts for the sites of one file, recomputed from its source."""
    module = sites[0].module
    is_package = sites[0].file.endswith("__init__.py")
    statements = {s.line: s for s in module_imports(source, module, is_package)}
    targets: set[tuple[int, str]] = set()
    for site in sites:
        statement = statements.get(site.line)
        if statement is None:
            continue
        texts = set(site.imports.split("; "))
        targets.update((site.line, b.name) for b in statement.bindings if b.text in texts)
    return plan_deferrals(source, module, is_package, targets)
