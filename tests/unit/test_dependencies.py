"""A failed pip install told in a few lines: its error and what explains it."""

from __future__ import annotations

from coldprof.build.dependencies import PIP_EXPLANATION_LINES, pip_failure


def test_a_long_pip_failure_is_cut_to_its_end() -> None:
    stderr = "\n".join(f"  compiler line {n}" for n in range(200))
    stderr += "\nERROR: Failed building wheel for cpbroken\n"
    headline, explanation = pip_failure("Collecting cpbroken\n", stderr)
    assert headline == "Failed building wheel for cpbroken"
    assert explanation[-1] == "  compiler line 199"
    assert len(explanation) == PIP_EXPLANATION_LINES
