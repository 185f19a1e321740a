"""The command line: the app, shared options, one error boundary, and one module per command."""
