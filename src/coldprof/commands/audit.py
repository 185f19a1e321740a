"""The `coldprof audit` command."""
