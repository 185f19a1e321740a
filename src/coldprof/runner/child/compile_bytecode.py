"""Compile sources into a PYTHONPYCACHEPREFIX tree, under the paths the function sees them as.

Run by the function's interpreter (bytecode is per Python version), by path, as
``python -S -I compile_bytecode.py PREFIX`` with ``[[source, path seen], ...]`` as JSON on stdin.
Exits 3 when something in the cache is in the way (the caller rebuilds it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import sys


def main() -> None:
    prefix, pairs = sys.argv[1], json.load(sys.stdin)
    sys.pycache_prefix = prefix
    for source, seen in pairs:
        cfile = importlib.util.cache_from_source(seen)
        try:
            if os.path.isfile(cfile) and os.path.getmtime(cfile) >= os.path.getmtime(source):
                continue
        except OSError:
            pass
        try:
            py_compile.compile(source, cfile=cfile, dfile=seen, doraise=True)
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as e:
            sys.stderr.write(str(e))
            sys.exit(3)
        except (py_compile.PyCompileError, OSError):
            pass  # a file that does not compile costs the same either way


if __name__ == "__main__":
    main()
