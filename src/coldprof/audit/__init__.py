"""The pre-merge audit: an analyze result against budgets, a baseline or a git base → findings."""
