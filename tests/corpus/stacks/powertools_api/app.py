"""A REST API with AWS Lambda Powertools: resolver, logger, metrics."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="orders")
metrics = Metrics(namespace="Orders", service="orders")
app = APIGatewayRestResolver()


@app.get("/orders")
def list_orders():
    return {"orders": []}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
