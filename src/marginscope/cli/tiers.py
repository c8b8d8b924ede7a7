"""``marginscope tiers …``: list, show and refresh the shipped tier tables."""

import typer

app = typer.Typer(no_args_is_help=True)
