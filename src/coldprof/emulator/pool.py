"""The environment pool: warm execution environments per function version, their start and end."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coldprof.emulator import log_store
from coldprof.emulator.options import EmulatorOptions, InitCpu
from coldprof.emulator.registry import CodePackage, Function, FunctionSettings, Registry
from coldprof.emulator.responses import ApiError
from coldprof.emulator.runtimes import RuntimeResolver
from coldprof.runner import lambda_fs
from coldprof.runner.cgroups import Cgroups, EnvironmentLimits, LimitSupport
from coldprof.runner.environment import ExecutionEnvironment
from coldprof.runner.outcomes import InitOutcome
from coldprof.runner.spec import EnvironmentSpec

_PYTHON_FULL = ".".join(str(part) for part in sys.version_info[:3])


@dataclass(eq=False)
class PooledEnvironment:
    """An execution environment with the function and settings it was started for."""

    function: Function
    env: ExecutionEnvironment
    limits: EnvironmentLimits
    version: str
    revision_id: str
    code: CodePackage
    last_used: float = 0.0
    log_stream: str = ""  # its CloudWatch log stream, date/[version]id, as Lambda names it


@dataclass(eq=False)
class _FunctionEnvironments:
    """One function's environments: idle ones per version, and every live one, idle or busy."""

    idle: dict[str, list[PooledEnvironment]] = field(default_factory=dict)
    live: set[PooledEnvironment] = field(default_factory=set)


class EnvironmentPool:
    """Starts environments, lends idle ones out, retires the stale and the idle, kills them all.

    It shares the registry's lock: an operation that changes a function retires its environments
    in the same critical section.
    """

    def __init__(
        self,
        options: EmulatorOptions,
        registry: Registry,
        runtimes: RuntimeResolver,
        on_log: Callable[[str], None],
    ) -> None:
        self.options = options
        self.registry = registry
        self.runtimes = runtimes
        self.on_log = on_log
        # The code is unpacked in the registry's folder and the runtime directories sit beside
        # coldprof's own: where Lambda's filesystem would hide them (under /var), copies run.
        self.filesystem = lambda_fs.choose_mode(None, (registry.workdir, runtimes.runtime_dir))
        self.cgroups = Cgroups(enabled=options.cgroups)
        self._lock = registry.lock
        self._functions: dict[Function, _FunctionEnvironments] = {}
        self._live: set[PooledEnvironment] = set()  # every environment not yet killed
        self._closed = False
        self._inflight = 0
        self._idle_cv = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._janitor = threading.Thread(target=self._retire_idle_loop, daemon=True)
        self._janitor.start()

    @property
    def support(self) -> LimitSupport:
        return self.cgroups.support

    def notes(self) -> list[str]:
        """What a user must know about this emulator's fidelity, for its start-up banner."""
        support = self.support
        notes = [
            "functions run on the Python their Runtime names where it is installed here, else "
            f"on Python {_PYTHON_FULL} ({self.options.python}), and say so",
            f"filesystem: {self.filesystem}"
            + (
                " (/var/task read-only, layers at /opt, an empty /tmp per environment)"
                if self.filesystem == lambda_fs.LAMBDA
                else f" ({lambda_fs.COPY_CAVEAT})"
            ),
        ]
        if support.cpu is not None:
            init = (
                "init unthrottled"
                if self.options.init_cpu is InitCpu.unthrottled
                else "init throttled too"
            )
            notes.append(f"CPU: memory/1769 of a core through {support.cpu}; {init}")
        else:
            notes.append(f"warning: {self.cpu_warning()}")
        notes.append(f"memory: MemorySize enforced through {support.memory}")
        return notes

    def cpu_warning(self) -> str:
        reasons = [p for p in self.support.problems if "cpu" in p] or list(self.support.problems)
        return (
            "CPU is NOT limited per memory size; every function gets the whole machine ("
            + "; ".join(reasons)
            + ")"
        )

    # -- in-flight invokes ------------------------------------------------------------------
    def begin(self) -> None:
        """Count an invoke in; refused once the emulator is shutting down."""
        with self._lock:
            if self._closed:
                raise ApiError("ServiceException", "the emulator is shutting down")
            self._inflight += 1

    def end(self) -> None:
        with self._idle_cv:
            self._inflight -= 1
            self._idle_cv.notify_all()

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Kill every environment, wait for in-flight invokes, remove the groups."""
        with self._lock:
            self._closed = True
            warm = list(self._live)
        self._stop.set()
        for entry in warm:
            self.kill(entry)
        # An invoke that spawned just before the kill sees the flag and kills its own.
        deadline = time.monotonic() + self.options.init_limit_s + 5
        with self._idle_cv:
            while self._inflight and time.monotonic() < deadline:
                self._idle_cv.wait(0.1)
        with self._lock:
            leftovers = list(self._live)
        for entry in leftovers:
            self.kill(entry)
        self._janitor.join(timeout=2)
        self.cgroups.close()

    def _retire_idle_loop(self) -> None:
        interval = max(0.05, min(1.0, self.options.idle_seconds / 4))
        while not self._stop.wait(interval):
            cutoff = time.monotonic() - self.options.idle_seconds
            retired: list[PooledEnvironment] = []
            with self._lock:
                for environments in self._functions.values():
                    for version, pool in environments.idle.items():
                        keep = [w for w in pool if w.last_used > cutoff and w.env.alive]
                        retired.extend(w for w in pool if w not in keep)
                        environments.idle[version] = keep
            self.kill_all(retired)
            if retired:
                self.on_log(f"retired {len(retired)} idle environment(s)")

    def _of(self, fn: Function) -> _FunctionEnvironments:
        return self._functions.setdefault(fn, _FunctionEnvironments())

    def kill(self, entry: PooledEnvironment) -> None:
        """Kill one environment and remove the code nothing uses any more."""
        entry.env.kill()
        with self._lock:
            self._live.discard(entry)
            environments = self._functions.get(entry.function)
            if environments is not None:
                environments.live.discard(entry)
                if entry.function.deleted and not environments.live:
                    del self._functions[entry.function]
            self.collect_code(entry.function)

    def kill_all(self, entries: Iterable[PooledEnvironment]) -> None:
        for entry in entries:
            self.kill(entry)

    def retire(self, fn: Function, version: str | None = None) -> list[PooledEnvironment]:
        """Take idle environments out of service (all versions when None); caller holds the lock
        and kills them after releasing it."""
        environments = self._functions.get(fn)
        idle = environments.idle if environments is not None else {}
        retired: list[PooledEnvironment] = []
        for key in list(idle):
            if version is None or key == version:
                retired.extend(idle.pop(key))
        if fn.deleted and environments is not None and not environments.live:
            del self._functions[fn]
        return retired

    def collect_code(self, fn: Function) -> None:
        """Remove unpacked code no configuration and no live environment uses any more."""
        with self._lock:
            live = self._functions.get(fn)
            in_use: set[Path] = {w.code.task_root for w in live.live} if live else set()
            self.registry.collect_code(fn, in_use)

    # -- lending ----------------------------------------------------------------------------
    def acquire(self, fn: Function, settings: FunctionSettings) -> PooledEnvironment | None:
        """The warmest idle environment started for these settings, or None for a cold start."""
        stale: list[PooledEnvironment] = []
        found = None
        with self._lock:
            pool = self._of(fn).idle.setdefault(settings.version, [])
            while pool:
                entry = pool.pop()  # the most recently used: the warmest
                if entry.env.alive and entry.revision_id == settings.revision_id:
                    found = entry
                    break
                stale.append(entry)
        self.kill_all(stale)
        return found

    def release(self, fn: Function, entry: PooledEnvironment) -> None:
        """Give an environment back after an invoke; killed if its settings changed meanwhile."""
        with self._lock:
            current = None
            if not fn.deleted and not self._closed:
                try:
                    current = fn.settings(entry.version)
                except ApiError:  # its version was deleted
                    current = None
            if current is not None and current.revision_id == entry.revision_id and entry.env.alive:
                entry.last_used = time.monotonic()
                self._of(fn).idle.setdefault(entry.version, []).append(entry)
                return
        self.kill(entry)

    def spawn(
        self,
        fn: Function,
        settings: FunctionSettings,
        init_limit_s: float,
        retry: bool = False,
    ) -> tuple[PooledEnvironment, InitOutcome]:
        """Start a new environment for these settings and run its init."""
        runtime = self.runtimes.resolve(settings.runtime)
        user_env = dict(settings.env)
        # Lambda's own variables for this version; runner/spec.py's build_env fills in the rest.
        user_env["AWS_LAMBDA_FUNCTION_VERSION"] = settings.version
        user_env["AWS_LAMBDA_LOG_GROUP_NAME"] = settings.log_group
        if settings.log_format == "JSON" and settings.application_log_level:
            user_env["AWS_LAMBDA_LOG_LEVEL"] = settings.application_log_level
        spec = EnvironmentSpec(
            handler=settings.handler,
            task_root=settings.code.task_root,
            runtime_dir=runtime.runtime_dir,
            python=runtime.python,
            python_version=runtime.minor,
            filesystem=self.filesystem,
            user_env=user_env,
            function_name=fn.name,
            memory_mb=settings.memory_mb,
            timeout_s=float(settings.timeout_s),
            region=fn.region,
            init_limit_s=init_limit_s,
            log_format=settings.log_format,
            merge_stderr=True,
        )
        # A retried init runs inside the invoke, so it gets the invoke's CPU share.
        throttle_init = retry or self.options.init_cpu is InitCpu.proportional
        limits = self.cgroups.limits(settings.memory_mb, throttle_init=throttle_init)
        env = ExecutionEnvironment(spec, limits)
        limits.on_memory_exceeded = lambda: env.kill_for("memory")
        entry = PooledEnvironment(
            fn,
            env,
            limits,
            settings.version,
            settings.revision_id,
            settings.code,
            log_stream=log_store.stream_name(settings.version),
        )
        with self._lock:
            closed = self._closed
            if not closed:
                self._of(fn).live.add(entry)
                self._live.add(entry)
        if closed:
            env.kill()  # releases its Runtime API port and scratch directory
            raise ApiError("ServiceException", "the emulator is shutting down")
        try:
            init = env.start()
        except BaseException as e:
            self.kill(entry)  # its Runtime API socket, thread and scratch folder go with it
            if isinstance(e, (OSError, ValueError)):
                raise ApiError("ServiceException", f"could not start the runtime: {e}") from e
            raise
        if self._closed:
            self.kill(entry)
        for problem in limits.problems:
            self.on_log(f"{fn.name}: warning: {problem}")
        if not limits.problems and self.support.cpu is None:
            self.on_log(
                f"{fn.name}: warning: cold start at {settings.memory_mb} MB: " + self.cpu_warning()
            )
        return entry, init
