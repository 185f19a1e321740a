"""Distribution names compared as PEP 503 says."""

from __future__ import annotations

from coldprof.build.names import normalize_name


def test_normalize_name() -> None:
    assert normalize_name("Foo.Bar__baz-Qux") == "foo-bar-baz-qux"
