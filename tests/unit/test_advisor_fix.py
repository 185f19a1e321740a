"""advisor.fix: the fix for a finding, written for the function's Python."""

from __future__ import annotations

from coldprof.advisor.fix import python_version, suggest_fix
from coldprof.results.advisor import ImportSite


def test_the_fix_fits_the_runtime() -> None:
    site = ImportSite(
        "app.py", 4, "import requests", "import requests", "app", functions=("lambda_handler",)
    )
    assert suggest_fix([site], "3.12.1") == (
        "move `import requests` (app.py:4) into lambda_handler()"
    )
    lazy = suggest_fix([site], "3.15.0")
    assert lazy.startswith("app.py:4: `lazy import requests` (PEP 810)")
    assert "`__lazy_modules__`" in lazy
    stuck = ImportSite("app.py", 9, "import yaml", "import yaml", "app", reason="used at import")
    assert suggest_fix([site, stuck], "3.11.7").endswith("; app.py:9: used at import")


def test_python_version_reads_major_and_minor() -> None:
    assert python_version("3.12.1") == (3, 12) and python_version("3.15.0a1") == (3, 15)
    assert python_version("") == (0, 0)


def test_no_import_statement_found_is_said_plainly() -> None:
    assert suggest_fix([], "3.12.1").startswith("no import statement found in your code")


def test_an_import_its_users_import_themselves_is_deleted() -> None:
    site = ImportSite("app.py", 2, "import json", "import json", "app")
    assert suggest_fix([site], "3.13.0") == (
        "delete `import json` (app.py:2): its users import it themselves"
    )
