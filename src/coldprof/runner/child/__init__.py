"""Scripts that run inside the function's interpreter, by path: standard library only."""
