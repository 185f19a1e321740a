"""A handler in a subfolder, as serverless/examples lays them out."""

import os

TABLE = os.environ["DYNAMODB_TABLE"]
if TABLE != "todos-dev" or os.environ["LOG_LEVEL"] != "INFO":
    raise RuntimeError("serverless.yml's environment did not arrive")


def create(event, context):
    return {"statusCode": 200, "table": TABLE}
