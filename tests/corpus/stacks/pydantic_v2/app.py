"""Validate an event with pydantic 2 models."""

from pydantic import BaseModel, Field


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class Order(BaseModel):
    id: str
    items: list[Item]


def lambda_handler(event, context):
    return Order.model_validate(event).model_dump()
