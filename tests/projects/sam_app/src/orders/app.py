"""Fails at init, as a real function would, when the template's environment or layer is missing."""

import os

import shared_util  # from the SharedLayer, under /opt/python on Lambda

TABLE = os.environ["TABLE_NAME"]
BUCKET = os.environ["BUCKET"]
RETRIES = int(os.environ["RETRIES"])
if os.environ["STAGE"] != "test" or os.environ["SERVICE"] != "orders":
    raise RuntimeError("the Globals environment did not arrive")


def lambda_handler(event, context):
    return {"table": TABLE, "bucket": BUCKET, "tag": shared_util.tag()}
