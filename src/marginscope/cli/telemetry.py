"""``marginscope ingest | export | retention``: the event store's commands (telemetry issue)."""

import typer

retention_app = typer.Typer(no_args_is_help=True)


def ingest() -> None:
    """Load events in the canonical schema (not yet implemented)."""
    raise typer.Exit(1)


def export() -> None:
    """Write the events out in the canonical schema (not yet implemented)."""
    raise typer.Exit(1)
