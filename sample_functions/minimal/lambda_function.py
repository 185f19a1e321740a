"""A handler that needs nothing beyond the standard library."""

import json


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"echo": event})}
