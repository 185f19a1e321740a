"""A function as CDK synthesizes it: the code folder is an asset named by its hash."""

import os

import common  # from the CommonLayer asset

TABLE = os.environ["TABLE_NAME"]
assert os.environ["REGION_TAG"] == "items-us-east-1"


def handler(event, context):
    return {"table": TABLE, "common": common.VERSION}
