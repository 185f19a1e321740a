"""The `coldprof report` command."""
