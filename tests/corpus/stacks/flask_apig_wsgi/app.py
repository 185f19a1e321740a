"""A Flask 3 app behind API Gateway through apig-wsgi."""

from apig_wsgi import make_lambda_handler
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/orders/<order_id>")
def get_order(order_id: str):
    return jsonify(id=order_id, status="shipped")


lambda_handler = make_lambda_handler(app)
