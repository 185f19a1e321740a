"""The emulator without its HTTP front: registry, environment pool and log store, kept together."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from coldprof.build.archive import remove_tree
from coldprof.emulator.log_store import LogStore
from coldprof.emulator.options import EmulatorOptions
from coldprof.emulator.pool import EnvironmentPool
from coldprof.emulator.registry import Registry
from coldprof.emulator.runtimes import RuntimeResolver
from coldprof.runner.reaper import WORKDIR_PREFIX, claim_workdir, sweep_dead_emulators


class Emulator:
    """What the API operations work on: the functions, their environments, and their logs."""

    def __init__(
        self,
        options: EmulatorOptions,
        runtime_dir: Path,
        on_log: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.on_log = on_log or (lambda _line: None)
        # Before the cgroups: an emulator killed with SIGKILL may have left processes in its groups.
        sweep_dead_emulators(self.on_log)
        self.runtimes = RuntimeResolver(options.python, runtime_dir)
        workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        claim_workdir(workdir)
        self.registry = Registry(workdir)
        self.pool = EnvironmentPool(options, self.registry, self.runtimes, self.on_log)
        self.logs = LogStore(options.log_dir)

    def notes(self) -> list[str]:
        """What a user must know about this emulator's fidelity, for its start-up banner."""
        return self.pool.notes()

    def close(self) -> None:
        """Kill every environment, wait for in-flight invokes, remove the groups and code."""
        self.pool.close()
        remove_tree(self.registry.workdir)
