"""The API operations the emulator serves, one module per family, over a registry and a pool."""
