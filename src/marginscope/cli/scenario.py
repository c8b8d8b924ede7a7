"""``marginscope scenario …``: stress paths and margin plans, readable, as JSON, or as a chart.

Commands (documented in ``docs/scenarios.md``):

* ``replay`` — the ``scenario`` calculator: replay the shipped November 2025 Binance BTCUSDT
  path (or a scripted one) against a position, with an optional top-up plan; ``--chart`` draws
  the path, the liquidation level, equity, top-ups and the liquidation (PNG or SVG by suffix).
* ``plan`` — the ``margin-plan`` calculator: the smallest top-up or cut for a target
  liquidation probability.

Options are generated from the calculators' input models (``entry_price`` → ``--entry-price``),
as for ``marginscope calc``; ``--input FILE`` reads a JSON request, options override it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from marginscope.calculators import REGISTRY, Calculator
from marginscope.cli.calc import _help, _is_plain_str, _json_option, _option_type, emit, read_json
from marginscope.cli.render import number, show
from marginscope.errors import InputError
from marginscope.risk.venues import VENUES

app = typer.Typer(no_args_is_help=True)

PANELS = {  # --help sections for the replay options
    "Path": ("path", "start", "end", "start_price", "bar"),
    "Funding": ("funding", "funding_rate", "funding_interval_hours"),
    "Defense plan": ("add", "at_margin_ratio", "max_times"),
}
CHART_SUFFIXES = (".png", ".svg")
SERIES_ROWS = 31  # readable output: at most about this many bars (plus top-ups, liquidation)


def _panel(name: str) -> str:
    return next((panel for panel, names in PANELS.items() if name in names), "Position")


def _parameters(calculator: Calculator, panels: bool) -> tuple[list[inspect.Parameter],
                                                                dict[str, type]]:
    """One typer option per field of the calculator's input model."""
    parameters, kinds = [], {}
    for name, field in calculator.model.model_fields.items():
        kind = _option_type(field.annotation)
        kinds[name] = kind
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=kind | None,
            default=typer.Option(None, f"--{name.replace('_', '-')}",
                                 help=escape(_help(field, field.annotation)),
                                 rich_help_panel=_panel(name) if panels else None)))
    parameters += [
        inspect.Parameter("input_file", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                          default=typer.Option(None, "--input", rich_help_panel="Output",
                                               help="JSON request file, - for stdin")),
        inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--json", rich_help_panel="Output",
                                               help="Print the full result as JSON")),
    ]
    return parameters, kinds


def _payload(calculator: Calculator, kinds: dict[str, type], options: dict[str, Any]
             ) -> dict[str, Any]:
    payload = read_json(options["input_file"]) if options["input_file"] else {}
    if not isinstance(payload, dict):
        raise InputError("input", type(payload).__name__, "a JSON object")
    fields = calculator.model.model_fields
    for name, value in options.items():
        if name in fields and value is not None:
            is_json = kinds[name] is str and not _is_plain_str(fields[name].annotation)
            payload[name] = _json_option(name, value) if is_json else value
    return payload


def _command(calculator: Calculator, extra: list[inspect.Parameter], panels: bool,
             body: Callable[[dict[str, Any], dict[str, Any]], None]) -> Callable[..., None]:
    parameters, kinds = _parameters(calculator, panels)

    def command(**options: Any) -> None:
        result = calculator.run(_payload(calculator, kinds, options))
        body(result, options)

    command.__signature__ = inspect.Signature(parameters + extra)  # type: ignore[attr-defined]
    return command


# ----------------------------------------------------------------------------------------------
# replay
# ----------------------------------------------------------------------------------------------
def _money(value: float | None, currency: str) -> str:
    return "—" if value is None else f"{number(value)} {currency}"


def _when(text: str | None) -> str:
    return "—" if text is None else text.replace("T", " ").replace(":00Z", " UTC")


def describe_position(result: dict[str, Any]) -> str:
    """"10× long 0.1 BTCUSDT on Binance USDⓈ-M" for titles."""
    p = result["position"]
    venue = VENUES[p["venue"]].title if p["venue"] in VENUES else p["venue"]
    symbol = p["symbol"] or ("contracts" if p["product"] == "inverse" else "")
    return f"{p['leverage']:.3g}× {p['side']} {p['qty']:g} {symbol} on {venue}".replace("  ", " ")


def describe_plan(result: dict[str, Any]) -> str:
    plan, currency = result["plan"], result["summary"]["margin_currency"]
    if not plan:
        return "no defense plan"
    times = "once" if plan["max_times"] == 1 else f"at most {plan['max_times']}×"
    return (f"add {number(plan['add'])} {currency} when the margin ratio reaches "
            f"{plan['at_margin_ratio']:.0%}, {times}")


def outcome(result: dict[str, Any]) -> str:
    """One sentence: liquidated when and where, or survived at what cost."""
    s, path = result["summary"], result["path"]
    currency = s["margin_currency"]
    if s["liquidated"]:
        bar = f"{path['bar_hours']:g}h bar" if path["bar_hours"] >= 1 else "bar"
        return (f"Liquidated in the {bar} {_when(s['liquidation_time'])} → "
                f"{_when(s['liquidation_bar_end'])} at {number(s['liquidation_price'])}; lost "
                f"{_money(s['net_cost'], currency)} (margin {number(s['initial_margin'])} + "
                f"top-ups {number(s['margin_added'])}).")
    return (f"Survived to {_when(path['end'])}: {len(s['top_ups'])} top-up(s) "
            f"({_money(s['margin_added'], currency)}), funding "
            f"{_money(s['funding_paid'], currency)}, equity {number(s['final_equity'])} at "
            f"{number(s['final_price'])}; net {_money(s['net_pnl'], currency)}.")


def _sampled(rows: list[dict[str, Any]], summary: dict[str, Any]) -> tuple[list[int], int]:
    step = max(1, math.ceil(len(rows) / SERIES_ROWS))
    keep = set(range(0, len(rows), step)) | {len(rows) - 1}
    keep |= {t["bar"] for t in summary["top_ups"]}
    return sorted(keep), step


def show_replay(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    s, path = result["summary"], result["path"]
    console.print(f"[bold]{describe_position(result)}[/], entry "
                  f"{number(result['position']['entry'])}, margin "
                  f"{_money(s['initial_margin'], s['margin_currency'])}")
    console.print(f"path: {path['description']}, {_when(path['start'])} → {_when(path['end'])}"
                  f" ({path['bars']} bars); funding: {result['funding']['source']}; "
                  f"{describe_plan(result)}")
    console.print(f"[bold {'red' if s['liquidated'] else 'green'}]{outcome(result)}[/]")
    shown = {k: v for k, v in s.items() if k != "top_ups"}
    shown["funding_prints"] = str(s["funding_prints"])  # a count, not an amount
    shown["worst_margin_ratio"] = (None if s["worst_margin_ratio"] is None
                                   else f"{s['worst_margin_ratio']:.1%}")
    show("Summary", shown, console)
    if s["top_ups"]:
        table = Table(title="Top-ups", title_justify="left")
        for column in ("time", "price", "amount", "margin ratio"):
            table.add_column(column, justify="left" if column == "time" else "right")
        for t in s["top_ups"]:
            table.add_row(_when(t["time"]), number(t["price"]), number(t["amount"]),
                          f"{t['margin_ratio']:.1%}")
        console.print(table)
    rows = result["series"]
    keep, step = _sampled(rows, s)
    title = "Series" + (f" (every {step}th bar, top-ups and the last; --json for all)"
                        if step > 1 else "")
    table = Table(title=title, title_justify="left")
    for column in ("time", "close", "equity", "ratio", "liq. price", "funding Σ"):
        table.add_column(column, justify="left" if column == "time" else "right")
    for i in keep:
        r = rows[i]
        ratio = "—" if r["margin_ratio"] is None else f"{r['margin_ratio']:.1%}"
        table.add_row(_when(r["time"]).replace(" UTC", ""), number(r["close"]),
                      number(r["equity"]), ratio, number(r["liquidation_price"]),
                      number(r["funding_paid_cumulative"]))
    console.print(table)


def _chart_size(text: str) -> tuple[float, float]:
    try:
        width, height = (float(part) for part in text.lower().split("x"))
    except ValueError:
        raise InputError("--chart-size", text, 'inches as "WxH", e.g. "9x5.5"') from None
    if not (2 <= width <= 30 and 2 <= height <= 30):
        raise InputError("--chart-size", text, "width and height between 2 and 30 inches")
    return width, height


def _replay_body(result: dict[str, Any], options: dict[str, Any]) -> None:
    chart = options["chart"]
    if chart is not None:
        from marginscope.scenarios.chart import draw_replay

        target = Path(chart)
        if target.suffix.lower() not in CHART_SUFFIXES:
            raise InputError("--chart", chart, "a file name ending in .png or .svg")
        draw_replay(result, target, _chart_size(options["chart_size"]))
    if options["as_json"]:
        emit("", result, True)
    else:
        show_replay(result)
        if chart is not None:
            typer.echo(f"chart: {chart}")


_REPLAY_EXTRA = [
    inspect.Parameter("chart", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                      default=typer.Option(None, "--chart", rich_help_panel="Output",
                                           help="Also draw a chart to this .png or .svg file")),
    inspect.Parameter("chart_size", inspect.Parameter.KEYWORD_ONLY, annotation=str,
                      default=typer.Option("9x5.5", "--chart-size", rich_help_panel="Output",
                                           help='Chart size in inches, "WxH" (phone: 6x4)')),
]

app.command("replay", help=REGISTRY["scenario"].summary + " Chart with --chart.")(
    _command(REGISTRY["scenario"], _REPLAY_EXTRA, True, _replay_body))


# ----------------------------------------------------------------------------------------------
# plan
# ----------------------------------------------------------------------------------------------
def _plan_body(result: dict[str, Any], options: dict[str, Any]) -> None:
    emit(REGISTRY["margin-plan"].title, result, options["as_json"])


app.command("plan", help=REGISTRY["margin-plan"].summary)(
    _command(REGISTRY["margin-plan"], [], False, _plan_body))
