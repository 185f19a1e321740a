"""coldprof: what each dependency costs a Python Lambda function's cold start."""

__version__ = "0.1.0"
