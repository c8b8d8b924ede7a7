"""What a page shows for a result: formatted figures, a short explanation, a chart.

Numbers come from the calculator's result (computed in ``risk``); this module only lays them
out. Explanations (:mod:`.explain`) and charts are keyed by calculator name; a calculator
without an explanation shows its summary, and any other list of numbers in a result is drawn
as a line chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from marginscope.calculators import Calculator
from marginscope.calculators.account import PositionFields
from marginscope.calculators.liquidation import terms_of
from marginscope.risk.contracts import pnl as contract_pnl
from marginscope.risk.pnl import exit_price_for_roe
from marginscope.web.charts import Chart, line_chart, liquidation_curve, price_window
from marginscope.web.explain import EXPLAIN
from marginscope.web.forms import label
from marginscope.web.numbers import fmt

__all__ = ["ResultView", "present"]

HEADLINES = ("liquidation_price", "probability", "qty", "net_pnl", "total_paid",
             "average_entry", "risk_reward", "max_open_qty", "margin_ratio")
IDENTITY = {"symbol", "side"}


@dataclass
class Figure:
    key: str
    label: str
    text: str
    numeric: bool = True


@dataclass
class Card:
    title: str
    headline: Figure | None
    figures: list[Figure]
    note: str = ""
    distance: float | None = None  # signed fraction mark → liquidation, for the gauge


@dataclass
class ResultView:
    """Everything the result fragment renders."""

    title: str
    headline: Figure | None
    figures: list[Figure]
    cards: list[Card] = field(default_factory=list)
    sections: list[tuple[str, list[Figure]]] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # long lists left to the API


def _figures(data: dict[str, Any], skip: set[str], echo: BaseModel | None = None
             ) -> list[Figure]:
    """Scalar figures of ``data``, leaving out ``skip`` and values that only echo the input."""
    inputs = echo.model_dump() if echo is not None else {}
    return [Figure(k, label(k), fmt(v, k), not isinstance(v, str)) for k, v in data.items()
            if k not in skip and isinstance(v, int | float | str | bool | type(None))
            and (v is not None or k in HEADLINES) and not (k in inputs and inputs[k] == v)]


def _headline(data: dict[str, Any]) -> str | None:
    for key in HEADLINES:
        if key in data and isinstance(data[key], int | float | type(None)):
            return key
    return next((k for k, v in data.items() if isinstance(v, int | float)), None)


def _card(record: dict[str, Any], index: int, echo: BaseModel | None) -> Card:
    key = _headline(record)
    title = " ".join(str(record[k]) for k in ("symbol", "side") if k in record) or f"#{index + 1}"
    headline = Figure(key, label(key), fmt(record.get(key), key)) if key else None
    mark = record.get("mark_price") or record.get("entry_price")
    liq = record.get("liquidation_price")
    distance = (liq - mark) / mark if isinstance(liq, float) and isinstance(mark, float) else None
    return Card(title=title, headline=headline,
                figures=_figures(record, IDENTITY | {key}, echo), distance=distance)


def present(calculator: Calculator, body: BaseModel, result: dict[str, Any]) -> ResultView:
    """The view of ``result`` for the calculator's page."""
    key = _headline(result)
    view = ResultView(
        title=calculator.title,
        headline=Figure(key, label(key), fmt(result[key], key)) if key else None,
        figures=_figures(result, {key} if key else set(), body),
    )
    series: list[tuple[str, list[float]]] = []
    for name, value in result.items():
        if isinstance(value, dict):
            view.sections.append((label(name), _figures(value, set())))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if len(value) <= 12:
                items = getattr(body, name, None)
                items = items if isinstance(items, list) and len(items) == len(value) else []
                view.cards += [_card(record, i, items[i] if items else None)
                               for i, record in enumerate(value)]
            else:
                view.charts += _record_charts(label(name), value)
                view.hidden.append(f"{label(name)}: {len(value)} rows, in full in the API's "
                                   "answer.")
        elif isinstance(value, list) and len(value) >= 2 and all(
                isinstance(v, int | float) or v is None for v in value):
            series.append((name, value))
    explain = EXPLAIN.get(calculator.name)
    view.explanation = explain(body, result) if explain else [calculator.summary]
    chart = CHARTS.get(calculator.name)
    if chart is not None:
        drawn = chart(body, result)
        view.charts += [drawn] if drawn else []
    else:
        for name, values in series:
            drawn = line_chart(list(range(1, len(values) + 1)), values, title=label(name),
                               description=f"{label(name)} by step", x_label="step",
                               y_label=label(name))
            view.charts += [drawn] if drawn else []
    return view


PRICE_COLUMNS = ("close", "price", "mark_price")
VALUE_COLUMNS = ("equity", "balance", "margin_ratio")


def _record_charts(title: str, records: list[dict[str, Any]]) -> list[Chart]:
    """A long table (a replayed price path, a schedule) as up to two charts by row: its price
    with the liquidation price if it has one, and its equity or balance."""
    charts = []
    steps = list(range(1, len(records) + 1))

    def column(key: str) -> list[Any]:
        return [r.get(key) if isinstance(r.get(key), int | float) else None for r in records]

    price = next((k for k in PRICE_COLUMNS if k in records[0]), None)
    if price:
        liq = column("liquidation_price") if "liquidation_price" in records[0] else None
        chart = line_chart(steps, column(price), title=f"{title}: {label(price).lower()}",
                           description=f"{label(price)} by row of the {title.lower()}",
                           x_label="row", y_label=label(price), y2=liq,
                           y2_label="liquidation price")
        charts += [chart] if chart else []
    value = next((k for k in VALUE_COLUMNS if k in records[0]), None)
    if value:
        chart = line_chart(steps, column(value), title=f"{title}: {label(value).lower()}",
                           description=f"{label(value)} by row of the {title.lower()}",
                           x_label="row", y_label=label(value))
        charts += [chart] if chart else []
    return charts


# --- charts -----------------------------------------------------------------------------------

def _position_chart(body: Any, result: dict[str, Any]) -> Chart | None:
    if not isinstance(body, PositionFields):
        return None
    curve = liquidation_curve(body, result, terms_of(body))
    margin = result.get("margin")
    return line_chart(
        curve["exit_price"], curve["pnl"], title="P&L against exit price",
        description=(f"P&L of closing at each price from {fmt(curve['exit_price'][0])} to "
                     f"{fmt(curve['exit_price'][-1])}; liquidation at "
                     f"{fmt(curve['liquidation_price'])}."),
        x_label="exit price", y_label="P&L",
        vlines=[(body.entry_price, "entry", "entry"),
                (result.get("warning_price"), "warning", "warn"),
                (curve["liquidation_price"], "liquidation", "liq")],
        hlines=[(0.0, "", "zero"), (-margin if margin else None, "margin lost", "warn")],
        fill_below_zero=True)


def _pnl_chart(body: Any, result: dict[str, Any]) -> Chart | None:
    side = 1.0 if body.side == "long" else -1.0
    product = result["product"]  # resolved from the symbol (body.product may be None)
    wiped = float(exit_price_for_roe(body.side, body.entry_price, body.leverage, -1.0,
                                     product=product))
    wiped = wiped if math.isfinite(wiped) and wiped > 0 else None
    low, high = price_window(body.entry_price, [body.exit_price, wiped])
    prices = [low + (high - low) * i / 80 for i in range(81)]
    values = contract_pnl(product, side, body.qty, body.entry_price,
                          np.asarray(prices), result["contract_size"]).tolist()
    return line_chart(
        prices, values, title="P&L against exit price",
        description=(f"Gross P&L of closing between {fmt(low)} and {fmt(high)}; margin gone "
                     f"(ROE −100 %) at {fmt(wiped)}."),
        x_label="exit price", y_label="P&L",
        vlines=[(body.entry_price, "entry", "entry"), (body.exit_price, "exit", "exit"),
                (wiped, "margin gone", "liq")],
        hlines=[(0.0, "", "zero")], fill_below_zero=True)


def _funding_chart(body: Any, result: dict[str, Any]) -> Chart | None:
    paid = result.get("cumulative") or []
    hours = [body.interval_hours * (i + 1) for i in range(len(paid))]
    return line_chart(
        [0.0, *hours], [0.0, *paid], title="Funding paid over time",
        description=(f"Cumulative funding over {fmt(result.get('hours'))} hours: "
                     f"{fmt(result.get('total_paid'))} (positive: paid)."),
        x_label="hours", y_label="funding paid", hlines=[(0.0, "", "zero")])


CHARTS: dict[str, Callable[[Any, dict[str, Any]], Chart | None]] = {
    "liquidation": _position_chart, "margin-call": _position_chart, "pnl": _pnl_chart,
    "funding": _funding_chart,
}
