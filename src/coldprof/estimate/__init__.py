"""Lambda's Init Duration estimated from a local analyze: the model, speed reference, fit."""
