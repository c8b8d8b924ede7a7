"""The ``marginscope`` command: one entry point, one sub-command group per area.

Bad input never shows a traceback: an :class:`~marginscope.errors.InputError` or a usage
mistake prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as click_errors  # typer 0.29 vendors click

from marginscope.errors import InputError

app = typer.Typer(
    name="marginscope",
    help="Exchange-faithful leveraged-trading risk calculators and behavioural analytics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from marginscope.cli import calc, market, report, scenario, serve, telemetry, tiers, walkthrough
    from marginscope.cli import demo as demo_command

    app.add_typer(calc.app, name="calc", help="Risk calculators (liquidation, margin call, P&L, …).")
    app.add_typer(tiers.app, name="tiers", help="Shipped maintenance-margin tier tables.")
    app.add_typer(market.app, name="market", help="Market context: prices, funding, events.")
    app.add_typer(scenario.app, name="scenario", help="Stress paths (replay, chart) and margin plans.")
    app.command("walkthrough")(walkthrough.walkthrough)
    app.command("serve")(serve.serve)
    app.command("ingest")(telemetry.ingest)
    app.command("export")(telemetry.export)
    app.add_typer(telemetry.retention_app, name="retention", help="Raw-event retention.")
    app.command("report")(report.report)
    app.command("demo")(demo_command.demo)


_register()


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit (code 2: bad input)."""
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="marginscope", standalone_mode=False)
    except InputError as exc:
        fail(str(exc))
    except click_errors.NoArgsIsHelpError:
        sys.exit(0)  # the help was printed already
    except click_errors.UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        fail(exc.format_message().replace("\n", " ") + where)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort as exc:  # click turns Ctrl-C and an unexpected end of input into Abort
        if isinstance(exc.__cause__, EOFError):
            fail(f"the input ended early ({exc.__cause__ or 'end of file'})")
        fail("aborted", 130)
    except UnicodeDecodeError as exc:
        fail(f"the input is not UTF-8 (byte {exc.start}); nothing was done")
    except OSError as exc:  # a file missing, unreadable, vanished mid-read, or corrupt
        fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))
    except click_errors.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    sys.exit(result if isinstance(result, int) else 0)
