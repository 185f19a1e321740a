"""Tests for coldprof.measure.spec: the one builder of an analyze's environment spec."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coldprof.build.handler import FunctionSource
from coldprof.measure.spec import environment_spec
from coldprof.runner.interpreter import own_interpreter


def test_relative_layers_become_absolute_from_where_coldprof_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child runs from the task root: a relative layer would name a folder under it.
    monkeypatch.chdir(tmp_path)
    source = FunctionSource(tmp_path / "fn", "app.handler", "--handler")
    spec = environment_spec(
        source,
        tmp_path / "fn",
        own_interpreter(),
        tmp_path / "runtime",
        [Path("layer"), tmp_path / "other"],
        {"A": "1"},
        init_limit_s=3.0,
    )
    assert spec.layers == (tmp_path / "layer", tmp_path / "other")
    assert all(os.path.isabs(layer) for layer in spec.layers)
    assert spec.handler == "app.handler"
    assert spec.user_env == {"A": "1"}
    assert spec.init_limit_s == 3.0
    assert spec.importtime and not spec.merge_stderr
