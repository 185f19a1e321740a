"""Read an object from S3, with boto3 pinned in requirements.txt (the runtime already has it)."""

import boto3

s3 = boto3.client("s3")


def lambda_handler(event, context):
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read()
    return {"bytes": len(body)}
