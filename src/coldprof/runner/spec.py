"""The record that decides how one cold start runs, and the process environment built from it."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coldprof.lambda_facts import DEFAULT_REGION, INIT_LIMIT_S, MB_PER_VCPU
from coldprof.runner import lambda_fs
from coldprof.runner.runtime_client import default_runtime_client

DEFAULT_ACCOUNT = "123456789012"

# The function never sees the developer's shell (build_env starts from nothing): it gets these
# instead of real credentials, so SDK clients build as on Lambda and nothing can reach AWS.
_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIACOLDPROFDUMMY000",
    "AWS_SECRET_ACCESS_KEY": "coldprof-dummy-secret-access-key-not-real",
    "AWS_SESSION_TOKEN": "coldprof-dummy-session-token",
}


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything that decides how one cold start runs."""

    handler: str
    task_root: Path
    runtime_dir: Path
    layers: tuple[Path, ...] = ()
    python: str = sys.executable
    user_env: Mapping[str, str] = field(default_factory=dict)
    function_name: str = "coldprof-function"
    memory_mb: int = MB_PER_VCPU
    timeout_s: float = 30.0
    region: str = DEFAULT_REGION
    init_limit_s: float = INIT_LIMIT_S
    importtime: bool = False
    pycache_prefix: Path | None = None
    log_format: str = "Text"
    merge_stderr: bool = True  # one ordered log stream; importtime needs stderr apart
    wrapper: tuple[str, ...] = ()  # a command the runtime runs under, e.g. py-spy record --
    trace_file: Path | None = None  # the advisor's usage trace (child/usage_tracer.py)
    lines_config: Path | None = None  # the line tracer's files and output (child/line_tracer.py)
    runtime_client: str = field(default_factory=default_runtime_client)
    python_version: str = ""  # "3.12" of ``python``; "" when it is coldprof's own
    # "host": the directories as they are; "lambda": a private mount namespace with the package
    # at /var/task, layers at /opt and an empty /tmp; "copy": task_root is already a read-only
    # copy, and each cold start gets a TMPDIR of its own (see lambda_fs).
    filesystem: str = lambda_fs.HOST

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{DEFAULT_ACCOUNT}:function:{self.function_name}"

    @property
    def minor_version(self) -> str:
        return self.python_version or f"{sys.version_info[0]}.{sys.version_info[1]}"


def layer_paths(layer: Path, version: str = "") -> list[Path]:
    """The sys.path entries a layer adds, as /opt/python and its site-packages do on Lambda."""
    version = version or f"{sys.version_info[0]}.{sys.version_info[1]}"
    entries = [layer]
    python_dir = layer / "python"
    if python_dir.is_dir():
        entries.insert(0, python_dir)
        version_dir = python_dir / "lib" / f"python{version}"
        if (version_dir / "site-packages").is_dir():
            entries.insert(0, version_dir / "site-packages")
    return entries


def python_path(spec: EnvironmentSpec) -> list[Path]:
    """Lambda's order: the task root, then layers, then the runtime's own directory."""
    if spec.filesystem == lambda_fs.LAMBDA:
        # Where the launcher mounts them; the layers are merged at /opt.
        entries = [Path(lambda_fs.TASK_ROOT)]
        opt = Path(lambda_fs.LAYERS_DIR)
        for layer in spec.layers:
            for entry in layer_paths(layer, spec.minor_version):
                seen = opt / entry.relative_to(layer)
                if seen not in entries:
                    entries.append(seen)
        entries.append(Path(lambda_fs.RUNTIME_DIR))
        return entries
    entries = [spec.task_root]
    for layer in spec.layers:
        entries.extend(layer_paths(layer, spec.minor_version))
    entries.append(spec.runtime_dir)
    return entries


def seen_task_root(spec: EnvironmentSpec) -> Path:
    """The task root as the function sees it: /var/task in Lambda's filesystem."""
    return Path(lambda_fs.TASK_ROOT) if spec.filesystem == lambda_fs.LAMBDA else spec.task_root


def build_env(spec: EnvironmentSpec, runtime_api: str, scratch: Path) -> dict[str, str]:
    """The process environment: built from scratch, never inherited from the developer's shell."""
    version = spec.minor_version
    in_lambda_fs = spec.filesystem == lambda_fs.LAMBDA
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "HOME": str(scratch),
        "LAMBDA_TASK_ROOT": str(seen_task_root(spec)),
        "LAMBDA_RUNTIME_DIR": lambda_fs.RUNTIME_DIR if in_lambda_fs else str(spec.runtime_dir),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"coldprof/[$LATEST]{uuid.uuid4().hex}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        # botocore must not read the developer's ~/.aws files nor ask the instance metadata service.
        "AWS_CONFIG_FILE": str(scratch / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(str(p) for p in python_path(spec)),
        # /var/task is read-only on Lambda: never write bytecode into the user's package.
        "PYTHONDONTWRITEBYTECODE": "1",
        **_DUMMY_CREDENTIALS,
    }
    if spec.log_format.upper() == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    if spec.importtime:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    if spec.pycache_prefix is not None:
        prefix = lambda_fs.PYCACHE_DIR if in_lambda_fs else str(spec.pycache_prefix)
        env["PYTHONPYCACHEPREFIX"] = prefix
    if spec.filesystem == lambda_fs.COPY:
        # The machine's /tmp is shared: each cold start gets an empty folder of its own.
        tmp = scratch / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = env["TMP"] = env["TEMP"] = str(tmp)
    if spec.trace_file is not None:
        env["COLDPROF_TRACE_FILE"] = str(spec.trace_file)
    if spec.lines_config is not None:
        env["COLDPROF_LINES_CONFIG"] = str(spec.lines_config)
    env.update(spec.user_env)
    return env
