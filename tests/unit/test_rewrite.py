"""advisor.rewrite: which module-level imports can move into their functions, and the move."""

from __future__ import annotations

import ast
import json
import os
import sys
import textwrap
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

import pytest

from coldprof.advisor.imports import module_imports
from coldprof.advisor.rewrite import Deferral, defer_imports, plan_deferrals, rewritten_copy
from coldprof.advisor.uses import NameUse, find_uses, name_use


def name_uses(source: str, names: list[str]) -> dict[str, NameUse]:
    """Where ``source`` uses each of ``names``, as the advisor's planner asks it."""
    finder = find_uses(ast.parse(source))
    return {name: name_use(finder, name) for name in names}


def verdicts(source: str, *names: str, module: str = "app") -> list[Deferral]:
    """plan_deferrals for every module-level import of ``names`` in ``source``."""
    statements = module_imports(source, module)
    targets = {(s.line, b.name) for s in statements for b in s.bindings if b.name in names}
    assert targets, f"no module-level import of {names}"
    return plan_deferrals(source, module, False, targets)


def defer(source: str, *names: str) -> str:
    return defer_imports(source, "app", False, verdicts(source, *names))


def run(source: str) -> dict[str, Any]:
    """Execute a module's source as ``app`` and return its globals."""
    namespace: dict[str, Any] = {"__name__": "app"}
    exec(compile(source, "app.py", "exec"), namespace)
    return namespace


def reasons(source: str, *names: str) -> list[str | None]:
    return [v.reason for v in verdicts(source, *names)]


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# -- moves -------------------------------------------------------------------------------------
ONE_USER = dedent(
    """
    import json

    def handler(event, context):
        return json.dumps(event)
    """
)


def test_an_import_used_in_one_function_moves_into_it() -> None:
    assert verdicts(ONE_USER, "json") == [Deferral(1, "json", ("handler",))]
    rewritten = defer(ONE_USER, "json")
    assert rewritten == dedent(
        """
        # coldprof: deferred into its functions: import json

        def handler(event, context):
            import json
            return json.dumps(event)
        """
    )
    module = run(rewritten)
    assert "json" not in module  # no longer imported when the module is
    assert module["handler"]({"a": 1}, None) == '{"a": 1}'


def test_an_import_used_in_two_functions_and_a_method_goes_into_each() -> None:
    source = dedent(
        """
        import json


        def dump(value):
            return json.dumps(value)


        class Codec:
            def load(self, text):
                return json.loads(text)


        def unrelated():
            return 1
        """
    )
    assert verdicts(source, "json") == [Deferral(1, "json", ("Codec.load", "dump"))]
    rewritten = defer(source, "json")
    assert rewritten.count("import json") == 3  # the comment and the two functions
    assert "def unrelated():\n    return 1" in rewritten
    module = run(rewritten)
    assert "json" not in module
    assert module["dump"]([1]) == "[1]" and module["Codec"]().load("[2]") == [2]


def test_an_import_also_used_at_module_level_stays() -> None:
    source = dedent(
        """
        import json

        EMPTY = json.dumps({})

        def handler(event, context):
            return json.dumps(event)
        """
    )
    assert reasons(source, "json") == [
        "`json` is used at import time (line 3): move that code first"
    ]
    assert defer(source, "json") == source


def test_from_import_as_moves_under_its_alias_and_leaves_the_other_names() -> None:
    source = dedent(
        """
        from collections import OrderedDict as OD, Counter

        def count(xs):
            return Counter(xs)

        def ordered():
            return OD(a=1)
        """
    )
    (verdict,) = verdicts(source, "OD")
    assert verdict == Deferral(1, "OD", ("ordered",))
    rewritten = defer(source, "OD")
    assert rewritten.splitlines()[0] == "from collections import Counter"
    assert "    from collections import OrderedDict as OD\n    return OD(a=1)" in rewritten
    module = run(rewritten)
    assert "OD" not in module and module["Counter"] is Counter
    assert module["ordered"]() == OrderedDict(a=1) and module["count"]("aab")["a"] == 2


def test_one_name_of_a_plain_import_list_moves() -> None:
    source = dedent(
        """
        import json, textwrap

        def handler(event, context):
            return textwrap.shorten(json.dumps(event), 40)

        def width():
            return textwrap.dedent("  x")
        """
    )
    rewritten = defer(source, "json")
    assert rewritten.splitlines()[0] == "import textwrap"
    module = run(rewritten)
    assert "json" not in module and "textwrap" in module
    assert module["handler"]({"k": "v"}, None) == '{"k": "v"}'


def test_the_import_goes_after_the_docstring() -> None:
    source = dedent(
        '''
        import json

        def handler(event, context):
            """Serialize the event."""
            return json.dumps(event)
        '''
    )
    rewritten = defer(source, "json")
    assert '"""Serialize the event."""\n    import json\n    return' in rewritten
    module = run(rewritten)
    assert module["handler"].__doc__ == "Serialize the event."
    assert module["handler"]([], None) == "[]"


def test_a_function_that_is_only_a_docstring_does_not_use_the_name() -> None:
    source = dedent(
        '''
        import json

        def handler(event, context):
            """Nothing else here."""

        def other():
            return json.dumps(2)
        '''
    )
    assert verdicts(source, "json") == [Deferral(1, "json", ("other",))]
    assert run(defer(source, "json"))["other"]() == "2"


def test_decorators_run_at_import_time_but_the_decorated_body_does_not() -> None:
    source = dedent(
        """
        import functools
        import json

        @functools.lru_cache(maxsize=None)
        def cached(key):
            return json.dumps(key)
        """
    )
    found = {v.name: v for v in verdicts(source, "functools", "json")}
    assert found["functools"].reason == (
        "`functools` is used at import time (line 4): move that code first"
    )
    assert found["json"] == Deferral(2, "json", ("cached",))
    rewritten = defer(source, "functools", "json")
    assert rewritten.splitlines()[:2] == [
        "import functools",
        "# coldprof: deferred into its functions: import json",
    ]
    assert "def cached(key):\n    import json\n    return" in rewritten
    assert run(rewritten)["cached"]("k") == '"k"'


def test_an_import_goes_above_a_decorated_inner_function() -> None:
    source = dedent(
        """
        import functools

        def outer():
            @functools.wraps(len)
            def inner(x):
                return len(x)
            return inner
        """
    )
    assert verdicts(source, "functools") == [Deferral(1, "functools", ("outer",))]
    rewritten = defer(source, "functools")
    assert "def outer():\n    import functools\n    @functools.wraps(len)" in rewritten
    module = run(rewritten)
    assert "functools" not in module and module["outer"]()("abc") == 3


def test_async_functions_and_nested_scopes_count_as_their_outermost_function() -> None:
    source = dedent(
        """
        import json

        async def handler(event):
            def inner():
                return [json.dumps(x) for x in event]
            return inner()

        def shadowed(json):
            return json
        """
    )
    use = name_uses(source, ["json"])["json"]
    assert use.functions == ("handler",) and use.local_in == ("shadowed",)
    rewritten = defer(source, "json")
    assert rewritten.count("    import json\n") == 1
    module = run(rewritten)
    coroutine = module["handler"]([1, "a"])
    with pytest.raises(StopIteration) as done:
        coroutine.send(None)
    assert done.value.value == ["1", '"a"']
    assert module["shadowed"](5) == 5


# -- what stays, and why ------------------------------------------------------------------------
def test_an_import_in_a_try_except_import_error_block_stays() -> None:
    source = dedent(
        """
        try:
            import simplejson as json
        except ImportError:
            import json

        def handler(event, context):
            return json.dumps(event)
        """
    )
    statements = module_imports(source, "app")
    assert [(s.line, s.block) for s in statements] == [(2, "try"), (4, "try")]
    assert reasons(source, "json") == [
        "inside a module-level `try` block: move it by hand",
        "inside a module-level `try` block: move it by hand",
    ]
    assert defer(source, "json") == source


def test_type_checking_imports_never_run_and_lazy_annotations_are_no_use() -> None:
    source = dedent(
        """
        from __future__ import annotations

        from typing import TYPE_CHECKING
        from decimal import Decimal
        import json

        if TYPE_CHECKING:
            from fractions import Fraction

        def total(amount: Decimal) -> Fraction:
            return json.dumps(str(amount))
        """
    )
    bound = {b.name for s in module_imports(source, "app") for b in s.bindings}
    assert "Fraction" not in bound and {"Decimal", "json"} <= bound
    found = {v.name: v for v in verdicts(source, "Decimal", "json")}
    assert found["Decimal"].reason == (
        "nothing uses `Decimal`: delete the import unless it runs for a side effect"
    )
    assert found["json"] == Deferral(5, "json", ("total",))
    rewritten = defer(source, "Decimal", "json")
    assert "from decimal import Decimal" in rewritten  # not movable: left as it was
    module = run(rewritten)
    assert "json" not in module and module["total"](2) == '"2"'


def test_an_annotation_evaluated_at_def_time_is_an_import_time_use() -> None:
    source = dedent(
        """
        from decimal import Decimal

        def total(amount: Decimal):
            return Decimal(amount)
        """
    )
    assert reasons(source, "Decimal") == [
        "`Decimal` is used at import time (line 3): move that code first"
    ]


@pytest.mark.parametrize(
    ("source", "name", "reason"),
    [
        (
            "import json; import os\n\ndef f():\n    return json, os\n",
            "json",
            "shares its line with other code",
        ),
        (
            "import json; LIMIT = 3\n\ndef f():\n    return json, LIMIT\n",
            "json",
            "shares its line with other code",
        ),
        (
            "import json\n\ndef f():\n    global json\n    return json\n",
            "json",
            "f() declares `json` global",
        ),
        (
            "import json\n\ndef f(): return json.dumps(1)\n",
            "json",
            "f() is written on one line",
        ),
        (
            "from os.path import *\n\ndef f():\n    return join('a')\n",
            "*",
            "a star import cannot be moved: import the names you use",
        ),
        (
            "import json\n\n__all__ = ['json']\n\ndef f():\n    return json\n",
            "json",
            "`json` is used at import time (line 3): move that code first",
        ),
        (
            "import json\n\nclass C:\n    dumps = json.dumps\n",
            "json",
            "`json` is used at import time (line 4): move that code first",
        ),
        (
            "if True:\n    import json\n\ndef f():\n    return json\n",
            "json",
            "inside a module-level `if` block: move it by hand",
        ),
    ],
)
def test_imports_that_cannot_move_say_why(source: str, name: str, reason: str) -> None:
    assert reasons(source, name) == [reason]
    assert defer(source, name) == source


def test_a_target_with_no_import_there_is_refused() -> None:
    (verdict,) = plan_deferrals(ONE_USER, "app", False, {(3, "json")})
    assert verdict.reason == "no import of `json` at line 3" and not verdict.movable


# -- what a module imports -----------------------------------------------------------------------
def test_relative_imports_resolve_against_the_module_or_the_package() -> None:
    (statement,) = module_imports("from .util import helper as h\n", "pkg.app")
    (binding,) = statement.bindings
    assert binding.name == "h" and binding.module == "pkg.util"
    assert binding.candidates == ("pkg.util.helper", "pkg.util")
    assert binding.text == "from .util import helper as h"
    (package,) = module_imports("from . import sub\n", "pkg", is_package=True)
    assert package.bindings[0].candidates == ("pkg.sub", "pkg")
    (dotted,) = module_imports("import os.path\n", "app")
    assert dotted.bindings[0].name == "os" and dotted.bindings[0].module == "os.path"


def test_imports_inside_functions_are_not_module_imports() -> None:
    source = "def f():\n    import json\n    return json\n"
    assert module_imports(source, "app") == []


# -- the rewritten copy --------------------------------------------------------------------------
def test_rewritten_copy_copies_own_files_links_the_rest_and_recompiles(tmp_path: Path) -> None:
    root = tmp_path / "task"
    (root / "pkg").mkdir(parents=True)
    (root / "vendor" / "lib").mkdir(parents=True)
    (root / "app.py").write_text(ONE_USER)
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    (root / "vendor" / "lib" / "__init__.py").write_text("")
    import py_compile

    py_compile.compile(str(root / "app.py"), doraise=True)
    new = defer(ONE_USER, "json")
    # The function's own files, as the attribution gives them: all but installed distributions.
    own = [str(p) for p in root.rglob("*") if p.is_file() and "vendor" not in p.parts]
    copy = rewritten_copy(root, tmp_path / "copy", own, {"app.py": new})
    assert (copy / "app.py").read_text() == new and (root / "app.py").read_text() == ONE_USER
    assert not (copy / "pkg" / "mod.py").is_symlink() and (copy / "pkg" / "mod.py").is_file()
    assert (copy / "vendor").is_symlink()  # no own file under it: linked, not copied
    assert os.path.realpath(copy / "vendor") == str(root / "vendor")
    import importlib.util

    fresh = Path(importlib.util.cache_from_source(str(copy / "app.py")))
    original = Path(importlib.util.cache_from_source(str(root / "app.py")))
    assert not fresh.parent.is_symlink() and fresh.read_bytes() != original.read_bytes()
    assert json.loads(run(new)["handler"]({"x": 1}, None)) == {"x": 1}


# -- a module with every kind of use at once ----------------------------------------------------
SOURCE = '''\
"""A module."""
from __future__ import annotations

import json
import numpy as np, requests  # heavy
from requests import (
    Session,
    get as fetch,
)
import yaml
import boto3

CONFIG = yaml.safe_load("a: 1")
__all__ = ["json"]

try:
    import ujson
except ImportError:
    ujson = None


def handler(event, context: boto3.Session) -> dict:
    """Handle one event."""
    values = np.array([1])

    def inner(np=None):
        return np

    if event.get("fetch"):
        return {"s": type(Session()).__name__, "r": requests.__name__}
    return {}


class Client:
    @staticmethod
    def call():
        return fetch

    def other(self, np):
        return [np for np in range(3)]


def lazy():
    import requests
    return requests


def one(): return np
'''


def test_module_imports_and_name_uses() -> None:
    statements = {s.line: s for s in module_imports(SOURCE, "app")}
    assert [b.name for b in statements[5].bindings] == ["np", "requests"]
    assert statements[5].bindings[0].text == "import numpy as np"
    assert statements[6].source == "from requests import Session, get as fetch"
    assert statements[6].bindings[1].candidates == ("requests.get", "requests")
    assert statements[17].block == "try"
    uses = name_uses(SOURCE, ["np", "requests", "fetch", "yaml", "boto3", "json"])
    assert uses["np"].functions == ("handler", "one")  # not Client.other: np is its parameter
    assert uses["np"].local_in == ("Client.other",)
    assert uses["requests"].functions == ("handler",) and uses["requests"].local_in == ("lazy",)
    assert uses["fetch"].functions == ("Client.call",)
    assert uses["yaml"].import_time == (13,)
    assert uses["json"].import_time == (14,)  # re-exported through __all__
    assert uses["boto3"] == name_uses(SOURCE, ["boto3"])["boto3"]
    assert uses["boto3"].functions == ()  # only in an annotation, never evaluated


def test_plan_says_what_can_move_and_why_not() -> None:
    targets = [(5, "np"), (5, "requests"), (6, "Session"), (6, "fetch"), (10, "yaml")]
    targets += [(11, "boto3"), (17, "ujson"), (4, "json")]
    verdicts = {d.name: d for d in plan_deferrals(SOURCE, "app", False, targets)}
    assert verdicts["requests"].movable and verdicts["requests"].functions == ("handler",)
    assert verdicts["Session"].movable and verdicts["fetch"].functions == ("Client.call",)
    assert verdicts["np"].reason == "one() is written on one line"
    assert "used at import time (line 13)" in (verdicts["yaml"].reason or "")
    assert "nothing uses `boto3`" in (verdicts["boto3"].reason or "")
    assert "`try` block" in (verdicts["ujson"].reason or "")
    assert "used at import time (line 14)" in (verdicts["json"].reason or "")


def test_rewrite_moves_imports_into_their_functions_and_still_runs(tmp_path: Path) -> None:
    # Real modules stand in: the rewritten module must import and behave as before.
    source = textwrap.dedent(
        '''\
        """Doc."""
        import decimal, fractions as fr  # two at once
        from statistics import (
            mean,
            median as mid,
        )
        import json


        def total(values):
            """Sum."""
            return float(decimal.Decimal(sum(values))) + fr.Fraction(1, 2)


        class Stats:
            @staticmethod
            def middle(values):
                return mid(values)


        def average(values):
            def inner():
                return mean(values)

            return inner()


        def dump(value):
            return json.dumps(value)
        '''
    )
    targets = [(2, "decimal"), (2, "fr"), (3, "mean"), (3, "mid")]
    plan = plan_deferrals(source, "stats_app", False, targets)
    assert all(d.movable for d in plan), plan
    rewritten = defer_imports(source, "stats_app", False, plan)
    header = rewritten.split("def total")[0].splitlines()
    assert [line for line in header if line.startswith(("import", "from"))] == ["import json"]
    assert "# coldprof: deferred into its functions: import decimal, fractions as fr" in header
    assert '    """Sum."""\n    import decimal\n    import fractions as fr\n' in rewritten
    assert "        from statistics import median as mid\n        return mid" in rewritten
    assert "    from statistics import mean\n    def inner" in rewritten
    (tmp_path / "stats_app.py").write_text(rewritten)
    sys.path.insert(0, str(tmp_path))
    try:
        import stats_app  # type: ignore[import-not-found]

        assert "decimal" not in vars(stats_app) and "mean" not in vars(stats_app)
        assert stats_app.total([1, 2]) == 3.5
        assert stats_app.Stats.middle([1, 5, 9]) == 5
        assert stats_app.average([2, 4]) == 3
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("stats_app", None)
