"""What coldprof needs to know about a candidate interpreter, printed as one JSON line."""

import importlib.machinery
import json
import sys
import sysconfig

paths = sysconfig.get_paths()
print(
    json.dumps(
        {
            "executable": sys.executable,
            "version": ".".join(str(part) for part in sys.version_info[:3]),
            "stdlib": [paths["stdlib"], paths["platstdlib"]],
            "extension_suffixes": list(importlib.machinery.EXTENSION_SUFFIXES),
            "stdlib_module_names": sorted(getattr(sys, "stdlib_module_names", ())),
        }
    )
)
