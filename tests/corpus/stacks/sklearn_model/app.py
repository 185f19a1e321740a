"""Score a request with a small scikit-learn model fitted at init."""

import numpy as np
from sklearn.linear_model import LogisticRegression

_X = np.array([[0.0], [1.0], [2.0], [3.0]])
_model = LogisticRegression().fit(_X, [0, 0, 1, 1])


def lambda_handler(event, context):
    return {"score": float(_model.predict_proba([[event.get("x", 1.5)]])[0][1])}
