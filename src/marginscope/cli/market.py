"""``marginscope market …``: market context (filled in by the market module's issue)."""

import typer

app = typer.Typer(no_args_is_help=True)
