"""A FastAPI app behind API Gateway through Mangum."""

from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI()


class Order(BaseModel):
    id: str
    quantity: int


@app.post("/orders")
def create_order(order: Order) -> Order:
    return order


handler = Mangum(app, lifespan="off")
