"""The second function: its own Handler and MemorySize, the Globals for the rest."""

import json
import os

STAGE = os.environ["STAGE"]


def handler(event, context):
    return json.dumps({"stage": STAGE})
