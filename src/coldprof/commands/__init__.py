"""CLI commands beyond analyze, one module each; importing a module registers its command.

Each module keeps its heavy imports (boto3, tabulate, awslambdaric) inside the command body,
so `coldprof --help` pays for typer alone.
"""
