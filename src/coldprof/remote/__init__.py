"""The remote sweep: cold starts forced per memory tier, the function restored, correlated."""
