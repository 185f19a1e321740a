"""The `coldprof remote` command."""
