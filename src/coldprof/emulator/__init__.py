"""A local Lambda endpoint: HTTP routing, API operations, function registry, environments."""
