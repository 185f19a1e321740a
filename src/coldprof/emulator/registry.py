"""The function registry: functions, their published versions, and their unpacked code."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from coldprof.build.archive import ArchiveError, extract_archive, remove_tree
from coldprof.emulator.responses import ApiError, invalid
from coldprof.lambda_facts import DEFAULT_REGION
from coldprof.runner.spec import DEFAULT_ACCOUNT

DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_S = 3


@dataclass(frozen=True)
class CodePackage:
    """One uploaded zip, unpacked read-only."""

    task_root: Path
    zip_path: Path
    sha256: str  # base64, as CodeSha256
    size: int
    unzipped: int


@dataclass(frozen=True)
class FunctionSettings:
    """The settings of $LATEST or of a published version; replaced whole on every change."""

    runtime: str
    handler: str
    role: str
    code: CodePackage
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_s: int = DEFAULT_TIMEOUT_S
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    log_format: str = "Text"
    log_group: str = ""
    application_log_level: str | None = None
    system_log_level: str | None = None
    architectures: tuple[str, ...] = ("x86_64",)
    layers: tuple[str, ...] = ()
    version: str = "$LATEST"
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    last_modified: str = ""


PENDING_CONFLICT = (
    "The operation cannot be performed at this time. The function is currently in the "
    "following state: Pending"
)


@dataclass(eq=False)
class Function:
    """A function: $LATEST, its published versions, and the code packages they use."""

    name: str
    region: str
    account: str
    latest: FunctionSettings
    tags: dict[str, str] = field(default_factory=dict)
    versions: dict[str, FunctionSettings] = field(default_factory=dict)
    next_version: int = 1
    published_revision: str | None = None  # the $LATEST revision the last version was made from
    pending_until: float = 0.0
    updating_until: float = 0.0
    packages: list[CodePackage] = field(default_factory=list)
    deleted: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    def settings(self, qualifier: str | None) -> FunctionSettings:
        """The settings of $LATEST (no qualifier) or of a published version."""
        if qualifier in (None, "", "$LATEST"):
            return self.latest
        found = self.versions.get(qualifier or "")
        if found is None:
            raise ApiError(
                "ResourceNotFoundException", f"Function not found: {self.arn}:{qualifier}"
            )
        return found

    def state(self, now: float) -> str:
        return "Pending" if now < self.pending_until else "Active"

    def updating(self, now: float) -> bool:
        return now < self.updating_until or now < self.pending_until

    def check_not_updating(self, now: float) -> None:
        """Refuse a change while the function is Pending or an update is InProgress."""
        if self.state(now) == "Pending":
            raise ApiError("ResourceConflictException", PENDING_CONFLICT)
        if self.updating(now):
            raise ApiError(
                "ResourceConflictException",
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {self.arn}",
            )

    def check_revision(self, wanted: object) -> None:
        """Refuse a change made against another RevisionId than $LATEST's."""
        if wanted and wanted != self.latest.revision_id:
            raise ApiError(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id",
            )

    def publish(self, description: str | None) -> FunctionSettings:
        """Publish $LATEST as a new version, or return the last one if $LATEST is unchanged."""
        if self.published_revision == self.latest.revision_id and self.versions:
            return self.versions[str(self.next_version - 1)]
        version = str(self.next_version)
        self.next_version += 1
        settings = replace(self.latest, version=version, last_modified=now_iso())
        if description is not None:
            settings = replace(settings, description=description)
        self.versions[version] = settings
        self.published_revision = self.latest.revision_id
        return settings


_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<account2>\d{12}):function:)?"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    """A FunctionName as the API accepts it: a name, a partial ARN or an ARN, maybe qualified."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


def parse_function_ref(value: str) -> FunctionRef:
    """Read a FunctionName path or body field; InvalidParameterValueException when malformed."""
    match = _FUNCTION_REF.match(value)
    if match is None:
        raise invalid(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(arn:aws[a-zA-Z-]*:lambda:)?([a-z0-9-]+:)?(\\d{12}:)?(function:)?"
            "([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    return FunctionRef(
        match["name"],
        match["qualifier"],
        match["region"],
        match["account"] or match["account2"],
    )


def now_iso() -> str:
    """A LastModified timestamp, in the form Lambda writes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class Registry:
    """The functions by name, and the folder their code is unpacked in.

    ``lock`` guards the functions and everything the environment pool keeps about them: the
    operations hold it while they read or change either.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.lock = threading.RLock()
        self._functions: dict[str, Function] = {}

    def find(self, ref: FunctionRef) -> Function:
        """The function ``ref`` names; ResourceNotFoundException when there is none."""
        fn = self._functions.get(ref.name)
        if fn is None:
            region = ref.region or DEFAULT_REGION
            account = ref.account or DEFAULT_ACCOUNT
            raise ApiError(
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:{region}:{account}:function:{ref.name}",
            )
        return fn

    def get(self, name: str) -> Function | None:
        return self._functions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def all(self) -> list[Function]:
        """Every function, by name."""
        return sorted(self._functions.values(), key=lambda f: f.name)

    def add(self, fn: Function) -> None:
        if fn.name in self._functions:
            raise ApiError("ResourceConflictException", f"Function already exist: {fn.name}")
        self._functions[fn.name] = fn

    def remove(self, fn: Function) -> None:
        del self._functions[fn.name]
        fn.deleted = True

    # -- code packages --------------------------------------------------------------------------
    def unpack(self, zip_b64: object) -> CodePackage:
        """Unpack a base64 ZipFile field into a new code package under the work folder."""
        if not isinstance(zip_b64, str) or not zip_b64:
            raise invalid("Code: the emulator accepts a ZipFile only (no S3 or image URIs)")
        try:
            data = base64.b64decode(zip_b64, validate=True)
        except (binascii.Error, ValueError) as e:
            raise invalid(f"ZipFile is not valid base64: {e}") from e
        directory = Path(tempfile.mkdtemp(prefix="code-", dir=self.workdir))
        try:
            info = extract_archive(data, directory / "task")
        except ArchiveError as e:
            remove_tree(directory)
            raise invalid(f"Could not unzip uploaded file: {e.message}") from e
        zip_path = directory / "code.zip"
        zip_path.write_bytes(data)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        return CodePackage(directory / "task", zip_path, digest, len(data), info.unzipped_bytes)

    @staticmethod
    def discard(package: CodePackage) -> None:
        """Remove a package no function took."""
        remove_tree(package.task_root.parent)

    def collect_code(self, fn: Function, in_use: Iterable[Path]) -> None:
        """Remove unpacked code that no configuration uses, nor any environment (``in_use``)."""
        used = set(in_use)
        if not fn.deleted:
            used.add(fn.latest.code.task_root)
            used.update(c.code.task_root for c in fn.versions.values())
        for package in [p for p in fn.packages if p.task_root not in used]:
            fn.packages.remove(package)
            remove_tree(package.task_root.parent)

    def package(self, name: str, package_id: str) -> CodePackage | None:
        """One of a function's code packages, by the id its download URL carries."""
        fn = self._functions.get(name)
        for package in fn.packages if fn is not None else []:
            if package.zip_path.parent.name == package_id:
                return package
        return None
