"""Creates a boto3 client at init, as most Lambda functions do; boto3 comes from the runtime."""

import os

import boto3

TABLE = os.environ.get("TABLE_NAME", "orders")
dynamodb = boto3.client("dynamodb")


def lambda_handler(event, context):
    # Never called against AWS by coldprof: only init is measured unless you pass --event.
    return {"table": TABLE, "client": dynamodb.meta.service_model.service_name}
