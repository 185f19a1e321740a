"""The `coldprof emulator` command."""
