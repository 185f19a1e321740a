"""One execution environment: a runtime process, its Runtime API, its init and its invocations."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from coldprof.runner import lambda_fs, outcomes, procstat
from coldprof.runner.launch import runtime_command
from coldprof.runner.outcomes import InitOutcome, InvokeOutcome
from coldprof.runner.output import OutputCapture
from coldprof.runner.procstat import ProcessSample
from coldprof.runner.reaper import become_subreaper, kill_environment, spawn
from coldprof.runner.runtime_api import Invocation, InvocationOutcome, RuntimeApi
from coldprof.runner.spec import EnvironmentSpec, build_env, seen_task_root


class ResourceLimits(Protocol):
    """CPU and memory limits applied to one environment's process (the emulator's cgroups)."""

    def attach(self, pid: int) -> None: ...

    def on_init_done(self) -> None: ...

    def release(self) -> None: ...


def _minus(total: int | None, before: int) -> int | None:
    return None if total is None else max(0, total - before)


class ExecutionEnvironment:
    """A runtime process and its Runtime API: spawn, wait for init, invoke, kill."""

    def __init__(self, spec: EnvironmentSpec, limits: ResourceLimits | None = None) -> None:
        self.spec = spec
        self.limits = limits
        self.api = RuntimeApi()
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout: OutputCapture | None = None
        self.stderr: OutputCapture | None = None
        self.spawned_at = 0.0
        self.init: InitOutcome | None = None
        self.init_log_end: int | None = None  # None until init ends: all output so far is init's
        self.init_stderr_end = 0  # with stderr apart: where init's -X importtime rows end
        self.invocations = 0
        self._exited = threading.Event()
        self._scratch = tempfile.TemporaryDirectory(prefix="coldprof-env-")
        self._killed_for: str | None = None
        self._marker = ""  # NAME=value every process of this environment inherits (reaper.py)
        self._setup_ms: float | None = None
        self._setup = lambda_fs.LauncherCost()  # the launcher's own work, before the exec

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> InitOutcome:
        """Spawn the runtime and wait for the end of init (its first /next) or its failure."""
        self.api.start()
        env = build_env(self.spec, self.api.address, Path(self._scratch.name))
        self._marker = f"AWS_LAMBDA_RUNTIME_API={env['AWS_LAMBDA_RUNTIME_API']}"
        become_subreaper()
        cmd = [*self.spec.wrapper, *runtime_command(self.spec)]
        in_lambda_fs = self.spec.filesystem == lambda_fs.LAMBDA
        ready_read = ready_write = -1
        popen_cmd = cmd
        if in_lambda_fs:
            cmd[0] = shutil.which(cmd[0]) or cmd[0]  # execve takes no PATH search
            ready_read, ready_write = os.pipe()
            popen_cmd = lambda_fs.launcher_command(
                cmd,
                env,
                self.spec.task_root,
                self.spec.runtime_dir,
                self.spec.layers,
                self.spec.pycache_prefix,
                ready_write,
            )
        try:
            self.proc, self.spawned_at = spawn(
                popen_cmd,
                cwd=self.spec.task_root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if self.spec.merge_stderr else subprocess.PIPE,
                start_new_session=True,
                pass_fds=(ready_write,) if in_lambda_fs else (),
            )
        except OSError as e:
            self.api.close()
            if in_lambda_fs:
                os.close(ready_read)
                os.close(ready_write)
            raise OSError(f"could not start {self.spec.python}: {e}") from e
        if in_lambda_fs:
            os.close(ready_write)
            try:
                exec_at, self._setup = lambda_fs.read_ready(ready_read, self.proc)
            except lambda_fs.FilesystemError as e:
                self.kill()
                raise OSError(f"could not lay out Lambda's filesystem: {e}") from e
            # Init starts at the runtime's exec: the namespace set-up before it is not init.
            self._setup_ms = (exec_at - self.spawned_at) * 1000
            self.spawned_at = exec_at
        if self.limits is not None:
            self.limits.attach(self.proc.pid)
        self.stdout = OutputCapture(self.proc.stdout)
        if not self.spec.merge_stderr:
            self.stderr = OutputCapture(self.proc.stderr)
        threading.Thread(target=self._watch_exit, daemon=True).start()
        self.init = self._wait_init()
        if self.init.ok:
            self.init_log_end = self.stdout.mark()
            self.init_stderr_end = self.stderr_mark()
            if self.limits is not None:
                self.limits.on_init_done()
        return self.init

    def _watch_exit(self) -> None:
        assert self.proc is not None
        self.proc.wait()
        self._exited.set()
        self.api.ready.set()

    def _process_sample(self) -> ProcessSample:
        """The runtime's totals at the end of init, less what the launcher of Lambda's
        filesystem spent before its exec (CPU, reads); the package's .so files where the
        process maps them (/var/task and /opt in Lambda's filesystem)."""
        assert self.proc is not None
        spec, setup = self.spec, self._setup
        layers = (
            [Path(lambda_fs.LAYERS_DIR)] if spec.filesystem == lambda_fs.LAMBDA else spec.layers
        )
        sample = procstat.sample(self.proc.pid, (seen_task_root(spec), *layers))
        cpu = sample.cpu_ms
        return replace(
            sample,
            cpu_ms=None if cpu is None else round(max(0.0, cpu - setup.cpu_ms), 3),
            read_chars=_minus(sample.read_chars, setup.read_chars),
            read_calls=_minus(sample.read_calls, setup.read_calls),
            disk_read_bytes=_minus(sample.disk_read_bytes, setup.disk_read_bytes),
        )

    def _wait_init(self) -> InitOutcome:
        deadline = self.spawned_at + self.spec.init_limit_s
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self.api.ready.wait(min(remaining, 0.5)):
                break
        api = self.api
        if api.first_next_at is not None and api.init_error is None:
            assert self.proc is not None
            return InitOutcome(
                True,
                (api.first_next_at - self.spawned_at) * 1000,
                "ok",
                disk_read_bytes=_minus(
                    procstat.disk_read_bytes(self.proc.pid), self._setup.disk_read_bytes
                ),
                process=self._process_sample(),
                setup_ms=self._setup_ms,
            )
        elapsed = (time.perf_counter() - self.spawned_at) * 1000
        if api.init_error is not None:
            self._exited.wait(2.0)  # awslambdaric exits right after posting the error
            return InitOutcome(False, elapsed, "error", api.init_error, self._returncode())
        if self._exited.is_set():
            return InitOutcome(False, elapsed, "exited", None, self._returncode())
        self.kill()
        return InitOutcome(False, self.spec.init_limit_s * 1000, "timeout", None, None)

    def _returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the runtime and everything it started, then release the API and limits."""
        if self.proc is not None:
            # Even when the runtime has exited: what it forked may live on (reaper.py).
            self._kill_processes()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self.api.close()
        for capture in (self.stdout, self.stderr):
            if capture is not None:
                capture.finish()
        if self.limits is not None:
            self.limits.release()
        self._scratch.cleanup()

    def kill_for(self, reason: str) -> None:
        """Kill from outside (a memory watchdog), remembering why for the invoke's error."""
        self._killed_for = reason
        if self.proc is not None:
            self._kill_processes()

    def _kill_processes(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        running = self.proc.poll() is None  # else its pid may already be another process's
        if self._marker:
            kill_environment(self.proc.pid if running else None, self._marker)

    # -- output ----------------------------------------------------------------------------
    def init_output(self) -> str:
        """What the runtime printed during init (stdout, and stderr when merged)."""
        # An init that printed nothing ends at offset 0, which must not read as "no end yet".
        return self.stdout.text(0, self.init_log_end) if self.stdout else ""

    def stderr_text(self, start: int = 0, end: int | None = None) -> str:
        return self.stderr.text(start, end) if self.stderr else ""

    def stderr_mark(self) -> int:
        """Offset of everything the runtime has written to stderr so far (it must be idle)."""
        return self.stderr.mark() if self.stderr else 0

    def peak_rss_mb(self) -> int:
        return procstat.peak_rss_mb(self.proc.pid) if self.proc is not None else 0

    # -- invoke ----------------------------------------------------------------------------
    def invoke(
        self,
        payload: bytes,
        request_id: str | None = None,
        timeout_s: float | None = None,
        client_context: str | None = None,
    ) -> InvokeOutcome:
        """Hand one event to the waiting runtime and wait for its response, or time out."""
        if not self.alive or self.stdout is None:
            raise RuntimeError("the environment is not running")
        timeout = self.spec.timeout_s if timeout_s is None else timeout_s
        request_id = request_id or str(uuid.uuid4())
        log_start = self.stdout.mark()
        started = time.perf_counter()
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int((time.time() + timeout) * 1000),
            function_arn=self.spec.function_arn,
            client_context=client_context,
        )
        box = self.api.submit(invocation)
        outcome: InvocationOutcome | None = None
        deadline = started + timeout
        while outcome is None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self._exited.is_set():
                break
            with contextlib.suppress(Exception):
                outcome = box.get(timeout=min(remaining, 0.05))
        self.invocations += 1
        if outcome is not None:
            duration = (outcome.finished_at - started) * 1000
            log = self.stdout.text(log_start, self.stdout.mark())
            return outcomes.answered(request_id, outcome, duration, self.peak_rss_mb(), log)
        duration = (time.perf_counter() - started) * 1000
        memory = self.peak_rss_mb()
        if self._exited.is_set() or self._killed_for:
            if self.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)  # the exit status says why it died
            returncode = self._returncode()
            log = self.stdout.text(log_start)
            self.kill()
            return outcomes.exited(request_id, self._killed_for, returncode, duration, memory, log)
        log = self.stdout.text(log_start)
        self.kill()
        return outcomes.timed_out(request_id, timeout, duration, memory, log)
