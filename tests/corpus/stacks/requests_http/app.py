"""Call an HTTP API with requests (a session made at init, reused across invocations)."""

import requests

session = requests.Session()


def lambda_handler(event, context):
    response = session.get(event["url"], timeout=5)
    return {"status": response.status_code}
