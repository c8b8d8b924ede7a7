"""``marginscope calc …``: one sub-command per calculator, generated from its declaration."""

import typer

app = typer.Typer(no_args_is_help=True)
