"""Make a thumbnail of an uploaded image with Pillow."""

import base64
import io

from PIL import Image


def lambda_handler(event, context):
    image = Image.open(io.BytesIO(base64.b64decode(event["image"])))
    image.thumbnail((128, 128))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return {"thumbnail": base64.b64encode(out.getvalue()).decode()}
