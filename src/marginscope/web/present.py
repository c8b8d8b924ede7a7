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
from marginscope.risk.contracts import position_value as contract_value
from marginscope.risk.pnl import exit_price_for_roe
from marginscope.web.charts import Chart, line_chart, liquidation_curve, price_window
from marginscope.web.explain import EXPLAIN
from marginscope.web.forms import label
from marginscope.web.numbers import fmt, pct
from marginscope.web.units import Units, unit_of, units_for

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
    unit: str = ""


@dataclass
class TierView:
    """The tier of the venue's table the engine used, and where the table comes from."""

    figures: list[Figure]
    as_of: str = ""
    source: str = ""


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
    dangers: list[str] = field(default_factory=list)  # shown first: the position is gone
    notices: list[str] = field(default_factory=list)  # implausible input, what a figure means
    read_as: list[str] = field(default_factory=list)  # typed numbers the page interpreted
    units_note: str = ""
    tier: TierView | None = None


def _figure(key: str, value: Any, units: Units | None = None,
            overrides: dict[str, str] | None = None) -> Figure:
    unit = unit_of(key, units, overrides) if isinstance(value, int | float) else ""
    return Figure(key, label(key), fmt(value, key), not isinstance(value, str), unit)


def _figures(data: dict[str, Any], skip: set[str], echo: BaseModel | None = None,
             units: Units | None = None, overrides: dict[str, str] | None = None
             ) -> list[Figure]:
    """Scalar figures of ``data``, leaving out ``skip`` and values that only echo the input."""
    inputs = echo.model_dump() if echo is not None else {}
    return [_figure(k, v, units, overrides) for k, v in data.items()
            if k not in skip and isinstance(v, int | float | str | bool | type(None))
            and (v is not None or k in HEADLINES) and not (k in inputs and inputs[k] == v)]


def _headline(data: dict[str, Any]) -> str | None:
    for key in HEADLINES:
        if key in data and isinstance(data[key], int | float | type(None)):
            return key
    return next((k for k, v in data.items() if isinstance(v, int | float)), None)


def _card(record: dict[str, Any], index: int, echo: BaseModel | None,
          venue: str | None = None) -> Card:
    key = _headline(record)
    title = " ".join(str(record[k]) for k in ("symbol", "side") if k in record) or f"#{index + 1}"
    units = units_for(echo, venue) if echo is not None and venue else None
    headline = _figure(key, record.get(key), units) if key else None
    mark = record.get("mark_price") or record.get("entry_price")
    liq = record.get("liquidation_price")
    distance = (liq - mark) / mark if isinstance(liq, float) and isinstance(mark, float) else None
    return Card(title=title, headline=headline,
                figures=_figures(record, IDENTITY | {key}, echo, units), distance=distance)


def present(calculator: Calculator, body: BaseModel, result: dict[str, Any]) -> ResultView:
    """The view of ``result`` for the calculator's page."""
    key = HEADLINE_OVERRIDES.get(calculator.name) or _headline(result)
    units = units_for(body)
    overrides = UNIT_OVERRIDES.get(calculator.name)
    view = ResultView(
        title=calculator.title,
        headline=_figure(key, result[key], units, overrides) if key else None,
        figures=_figures(result, {key} if key else set(), body, units, overrides),
        units_note=units.note if units else "",
    )
    series: list[tuple[str, list[float]]] = []
    for name, value in result.items():
        if isinstance(value, dict):
            view.sections.append((label(name), _figures(value, set(), None, units)))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if len(value) <= 12:
                items = getattr(body, name, None)
                items = items if isinstance(items, list) and len(items) == len(value) else []
                view.cards += [_card(record, i, items[i] if items else None,
                                     getattr(body, "venue", None))
                               for i, record in enumerate(value)]
            else:
                view.charts += _record_charts(label(name), value)
                view.hidden.append(f"{label(name)}: {len(value)} rows, in full in the API's "
                                   "answer.")
        elif isinstance(value, list) and len(value) >= 2 and all(
                isinstance(v, int | float) or v is None for v in value):
            series.append((name, value))
    warn = WARNINGS.get(calculator.name)
    if warn is not None:
        warn(body, result, view)
    if units is not None and units.table is not None and isinstance(body, PositionFields):
        view.tier = tier_view(units, body)
        _warn_leverage_vs_tier(body, view)
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

def _money_label(body: Any, text: str) -> str:
    """An axis label with its unit: ``P&L (USDT)``, ``P&L (BTC)``."""
    units = units_for(body)
    unit = unit_of("pnl", units) or (units.money if units is not None else "")
    return f"{text} ({unit})" if unit and unit != "quote" else text


LABEL_CHAR = 7.2   # width of one label character at the charts' 13-unit font
LABEL_ROW = 16     # height of one row of reference labels


def place_labels(chart: Chart) -> Chart:
    """Give each vertical reference line's label a row (``chart.vline_rows``) so that no two
    labels overlap: left to right, each takes the first row where it clears the others."""
    order = sorted(range(len(chart.vlines)), key=lambda i: chart.vlines[i].position)
    taken: list[list[tuple[float, float]]] = []
    rows = [0] * len(chart.vlines)
    for i in order:
        line = chart.vlines[i]
        width = len(line.text) * LABEL_CHAR + 10  # with a gap to the next label
        right_side = line.position > chart.width * 0.6
        span = ((line.position - 3 - width, line.position) if right_side
                else (line.position, line.position + 3 + width))
        row = next((r for r, spans in enumerate(taken)
                    if all(span[1] < a or b < span[0] for a, b in spans)), len(taken))
        if row == len(taken):
            taken.append([])
        taken[row].append(span)
        rows[i] = row
    chart.vline_rows = rows  # type: ignore[attr-defined]
    return chart


def _position_chart(body: Any, result: dict[str, Any]) -> Chart | None:
    if not isinstance(body, PositionFields):
        return None
    mark = body.mark_price if body.mark_price not in (None, body.entry_price) else None
    target = getattr(body, "target_price", None)
    curve = liquidation_curve(body, result, terms_of(body), also=(mark, target))
    margin = result.get("margin")
    chart = line_chart(
        curve["exit_price"], curve["pnl"], title="P&L against exit price",
        description=(f"P&L of closing at each price from {fmt(curve['exit_price'][0])} to "
                     f"{fmt(curve['exit_price'][-1])}; liquidation at "
                     f"{fmt(curve['liquidation_price'])}."
                     + (f" Mark {fmt(mark)}." if mark else "")
                     + (f" Target {fmt(target)}." if target else "")),
        x_label="exit price", y_label=_money_label(body, "P&L"),
        vlines=[(body.entry_price, "entry", "entry"), (mark, "mark", "mark"),
                (target, "target", "target"),
                (result.get("warning_price"), "warning", "warn"),
                (curve["liquidation_price"], "liquidation", "liq")],
        hlines=[(0.0, "", "zero"), (-margin if margin else None, "margin lost", "warn")],
        fill_below_zero=True)
    return place_labels(chart) if chart else None


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
    chart = line_chart(
        prices, values, title="P&L against exit price",
        description=(f"Gross P&L of closing between {fmt(low)} and {fmt(high)}; margin gone "
                     f"(ROE −100 %) at {fmt(wiped)}."),
        x_label="exit price", y_label=_money_label(body, "P&L"),
        vlines=[(body.entry_price, "entry", "entry"), (body.exit_price, "exit", "exit"),
                (wiped, "margin gone", "liq")],
        hlines=[(0.0, "", "zero")], fill_below_zero=True)
    return place_labels(chart) if chart else None


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


# --- units, tiers and warnings ------------------------------------------------------------------

# Figures whose unit is not the one their name suggests: the funding notional is given in the
# quote currency (USD for inverse contracts), not in the settle coin.
UNIT_OVERRIDES: dict[str, dict[str, str]] = {"funding": {"notional": "price"}}
HEADLINE_OVERRIDES = {"funding": "total_paid"}
FUNDING_PLAUSIBLE = 0.005  # ±0.5 % per interval: beyond any clamp venues publish


def tier_view(units: Units, body: PositionFields) -> TierView:
    """The tier of the shipped table that holds the position at entry (the engine's lookup:
    :meth:`~marginscope.risk.tiers.TierTable.tier_index` of its notional, or of its quantity
    for tables by contracts)."""
    table = units.table
    assert table is not None
    size = body.qty if table.basis == "quantity" else float(
        contract_value(table.product, body.qty, body.entry_price, table.contract_size))
    index = int(table.tier_index(size))
    cap = float(table.cap[index])
    band_unit = units.size if table.basis == "quantity" else units.money
    band = (f"{fmt(float(table.floor[index]))} – {fmt(cap) if math.isfinite(cap) else '∞'}"
            + (f" {band_unit}" if band_unit not in ("quote", "base units") else ""))
    figures = [
        Figure("tier", "Tier", f"{index + 1} of {len(table.floor)}", False),
        Figure("band", "Position-size band" if table.basis == "quantity" else "Notional band",
               band, False),
        Figure("mmr", "MMR", fmt(float(table.mmr[index]), "mmr")),
        _figure("maintenance_amount", float(table.cum[index]), units),
        Figure("max_leverage", "Max leverage", f"{float(table.max_leverage[index]):g}×"),
    ]
    return TierView(figures, as_of=table.as_of, source=table.source)


def _beyond(side: str, price: float | None, level: float | None) -> bool:
    """Whether ``price`` is at or past ``level`` in the direction that loses for ``side``."""
    if price is None or level is None:
        return False
    return price <= level if side == "long" else price >= level


def _warn_position(body: Any, result: dict[str, Any], view: ResultView) -> None:
    mark = getattr(body, "mark_price", None)
    liq = result.get("liquidation_price")
    ratio = result.get("margin_ratio")
    if _beyond(body.side, mark, liq) or (isinstance(ratio, float) and ratio >= 1) or (
            mark is not None and (result.get("margin_balance") or 1.0) <= 0):
        where = f" (liquidation price {fmt(liq)})" if liq is not None else ""
        view.dangers.append(f"Already past liquidation at this mark: at {fmt(mark)}{where} "
                            "the venue would have closed this position.")
    elif _beyond(body.side, mark, result.get("warning_price")):
        view.notices.append(f"The mark {fmt(mark)} is past the warning level "
                            f"({pct(getattr(body, 'warning_ratio', None))} margin ratio at "
                            f"{fmt(result.get('warning_price'))}).")
    cut, qty = result.get("quantity_to_cut"), body.qty
    if isinstance(cut, float) and cut > 0:
        target = getattr(body, "target_price", None)
        if cut >= qty * (1 - 1e-9):
            view.notices.append(
                f"Cutting {fmt(cut)} means closing the whole position: no partial cut keeps it "
                f"open through {fmt(target)}. Add margin instead, or close it.")
        else:
            view.notices.append(
                f"Cut: close {fmt(cut)} of the {fmt(qty)} ({pct(cut / qty)}) at the mark now; "
                f"the {fmt(qty - cut)} left is liquidated only at {fmt(target)}.")


def _warn_leverage_vs_tier(body: Any, view: ResultView) -> None:
    if view.tier is None or getattr(body, "leverage", None) is None:
        return
    table = view.tier.figures[-1].text.rstrip("×")
    if body.leverage > float(table):
        view.notices.append(f"Leverage {fmt(body.leverage)}× is beyond this tier's maximum "
                            f"({table}×): the venue would refuse the order.")


def _warn_pnl(body: Any, result: dict[str, Any], view: ResultView) -> None:
    wiped = float(exit_price_for_roe(body.side, body.entry_price, body.leverage, -1.0,
                                     product=body.product))
    if math.isfinite(wiped) and wiped > 0 and _beyond(body.side, body.exit_price, wiped):
        view.dangers.append(
            f"Liquidated before this exit: the margin ({fmt(result.get('initial_margin'))}) is "
            f"gone at {fmt(wiped)} (ROE −100 %), and the venue liquidates earlier still, when "
            "equity falls to the maintenance margin. The loss is the margin, not the P&L shown.")


def _warn_funding(body: Any, result: dict[str, Any], view: ResultView) -> None:
    rates = body.funding_rates or [body.funding_rate if body.funding_rate is not None
                                   else 0.0001]
    worst = max(rates, key=abs)
    if abs(worst) > FUNDING_PLAUSIBLE:
        view.notices.append(
            f"A funding rate of {pct(worst)} per {fmt(body.interval_hours)} h is far beyond "
            f"what venues charge (±{pct(FUNDING_PLAUSIBLE)} at most in a squeeze). Rates here "
            "are in percent: 0.01 means 0.01 %.")
    rate = "a series of rates" if body.funding_rates else f"{fmt(rates[0], 'mmr')}"
    view.read_as.insert(0, f"Funding rate read as {rate} per {fmt(body.interval_hours)} h, "
                           f"{result.get('intervals')} intervals "
                           f"({fmt((result.get('hours') or 0) / 24)} days).")


def _warn_short_sale(body: Any, result: dict[str, Any], view: ResultView) -> None:
    if result.get("in_call_at_open"):
        view.dangers.append(
            f"Already in a margin call when opened: the deposit ({fmt(result.get('deposit'))}) "
            "leaves equity below the maintenance requirement at the sale price — the call "
            f"price {fmt(result.get('margin_call_price'))} is at or under the sale price "
            f"{fmt(body.short_price)}.")


def _warn_spot_pnl(body: Any, result: dict[str, Any], view: ResultView) -> None:
    included = ("the buy fee included" if body.fee_asset == "quote"
                else "the buy fee is taken from the coins received")
    view.notices.append(f"ROI = net P&L ÷ the quote paid for the buy ({fmt(result.get('cost'))};"
                        f" {included}).")


def _warn_currency(body: Any, result: dict[str, Any], view: ResultView) -> None:
    currency = result.get("currency")
    if isinstance(currency, str):
        view.units_note = f"Money figures in {currency}."
        if getattr(body, "instrument_currency", None) is None and \
                getattr(body, "conversion_rate", None) is None:
            view.notices.append("No currencies given: money is in the instrument's currency. "
                                "If your account is in another one, give both currencies and "
                                "the conversion rate (under More options).")


def _warn_forex_size(body: Any, result: dict[str, Any], view: ResultView) -> None:
    view.notices.append(
        f"Tradable size, rounded down to your lot step of {fmt(body.lot_step)}: "
        f"{fmt(result.get('lots_tradable'))} lots ({fmt(result.get('units_tradable'))} units), "
        f"risking {fmt(result.get('risk_amount_tradable'))} {result.get('account_currency')}.")


WARNINGS: dict[str, Callable[[Any, dict[str, Any], ResultView], None]] = {
    "liquidation": _warn_position, "margin-call": _warn_position, "pnl": _warn_pnl,
    "funding": _warn_funding, "short-sale": _warn_short_sale, "spot-pnl": _warn_spot_pnl,
    "cfd-margin": _warn_currency, "cfd-pnl": _warn_currency, "cfd-financing": _warn_currency,
    "cfd-stops": _warn_currency, "forex-position-size": _warn_forex_size,
}
