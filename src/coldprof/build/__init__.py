"""The package as Lambda gets it: the handler found, pip for a target, layers, zips, the cache."""
