"""Start awslambdaric so that -X importtime sees the handler module's import.

awslambdaric loads the handler with importlib.import_module, which bypasses the C import path
that -X importtime instruments: the handler module would print no row and its imports would
show up as orphans. This routes just that one call through __import__ and starts the real
runtime with runpy, exactly as ``python -m awslambdaric HANDLER`` does.

Run inside the function's interpreter by path (runner/launch.py), where coldprof is not
importable: standard library only, and nothing imported that the runtime would not import
(not even ``__future__``, hence the quoted annotations).
"""

import importlib
import runpy
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

_import_module = importlib.import_module
_handler_module = sys.argv[1].rsplit(".", 1)[0].replace("/", ".")


def _traced_import_module(name: "str", package: "str | None" = None) -> "ModuleType":
    if package is None and name == _handler_module:
        __import__(name)
        return sys.modules[name]
    return _import_module(name, package)


importlib.import_module = _traced_import_module
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
