"""The second function of the service."""

import os

TABLE = os.environ["DYNAMODB_TABLE"]


def list(event, context):  # noqa: A001 - the name serverless.yml gives
    return {"statusCode": 200, "table": TABLE}
