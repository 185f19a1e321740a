"""audit.baseline: a baseline measured on another Python, OS or CPU is refused."""

from __future__ import annotations

import pytest

from coldprof.audit.baseline import IncomparableBaselineError, check_comparable
from coldprof.audit.core import audit
from coldprof.errors import EXIT_USAGE
from coldprof.results.audit import Budgets
from factories import dependency, result

INIT = [100.0, 102.0, 98.0, 101.0, 99.0]


def test_refuses_a_baseline_from_another_python_version() -> None:
    baseline = result([dependency("slowdep", [20.0] * 5)], INIT, python="3.12.4")
    with pytest.raises(IncomparableBaselineError) as caught:
        check_comparable(baseline, "3.11.7", "linux", "x86_64")
    assert caught.value.exit_code == EXIT_USAGE
    assert "Python 3.12.4" in caught.value.message and "Python 3.11.7" in caught.value.message
    with pytest.raises(IncomparableBaselineError):
        audit(result([], INIT), Budgets(), baseline)
    # A patch release is the same runtime on Lambda: compared, with a note.
    patch = result([dependency("slowdep", [20.0] * 5)], INIT, python="3.11.9")
    assert any("3.11.9" in n for n in audit(result([], INIT), Budgets(), patch).notes)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("platform", "darwin", "darwin"), ("architecture", "aarch64", "aarch64")],
)
def test_refuses_a_baseline_from_another_platform_or_architecture(
    field: str, value: str, words: str
) -> None:
    baseline = result([], INIT, **{field: value})
    with pytest.raises(IncomparableBaselineError, match=words):
        check_comparable(baseline, "3.11.7", "linux", "x86_64")
