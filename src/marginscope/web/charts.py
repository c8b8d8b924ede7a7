"""Chart data computed in Python (the formulas stay in ``risk``) and laid out as inline SVG.

* :func:`liquidation_curve` — P&L against exit price for a position-level request, with the
  entry, liquidation and bankruptcy levels (served as ``POST /api/v1/liquidation/curve``).
* :func:`line_chart` — pixel geometry of a line chart (paths, ticks, reference lines) that the
  ``chart.html`` template draws as SVG; no JavaScript and no chart library.
* :func:`interval_axis` — one shared horizontal axis for dot plots of estimates with their
  intervals and a reference value (the dashboard's contrasts and transitions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marginscope.calculators.account import PositionFields
from marginscope.calculators.base import plain
from marginscope.risk.contracts import pnl as contract_pnl

__all__ = ["Chart", "IntervalAxis", "interval_axis", "line_chart", "liquidation_curve", "nice_ticks", "price_window"]


def price_window(entry: float, levels: list[float | None], low_floor: float = 0.0
                 ) -> tuple[float, float]:
    """Exit-price range showing the entry and every level, with a margin either side."""
    finite = [x for x in (entry, *levels) if x is not None and math.isfinite(x) and x > 0]
    span = max(finite) - min(finite)
    span = span if span > 0 else entry * 0.1
    low = max(min(finite) - 0.35 * span, low_floor, entry * 1e-3)
    high = max(finite) + 0.35 * span
    return low, high


def liquidation_curve(request: PositionFields, result: dict[str, Any], terms: Any,
                      points: int = 81, also: tuple[float | None, ...] = ()) -> dict[str, Any]:
    """P&L (settle currency) of closing at each exit price, with the position's levels (and
    ``also`` these prices in the window, e.g. the mark and a target).

    ``P&L = s·Q·CS·(P − E)`` linear, ``s·Q·CS·(1/E − 1/P)`` inverse
    (:func:`marginscope.risk.contracts.pnl`).
    """
    side = 1.0 if request.side == "long" else -1.0
    levels = [result.get("liquidation_price"), result.get("bankruptcy_price")]
    low, high = price_window(request.entry_price, [*levels, *also])
    prices = np.linspace(low, high, points)
    values = contract_pnl(terms.product, side, request.qty, request.entry_price, prices,
                          terms.contract_size)
    return plain({
        "exit_price": prices, "pnl": values, "entry_price": request.entry_price,
        "liquidation_price": levels[0], "bankruptcy_price": levels[1],
        "margin": result.get("margin"), "product": terms.product,
    })


@dataclass(frozen=True)
class Tick:
    value: float
    position: float
    text: str


@dataclass(frozen=True)
class RefLine:
    position: float
    text: str
    kind: str  # css class: "liq", "entry", "zero", "warn"


@dataclass
class Chart:
    """An SVG line chart in a ``width × height`` viewBox (user units = CSS px at 1:1)."""

    title: str
    description: str
    x_label: str
    y_label: str
    width: int = 320
    height: int = 210
    left: int = 50
    right: int = 8
    top: int = 12
    bottom: int = 38
    path: str = ""
    path2: str = ""               # a second series (dashed), e.g. the liquidation price
    label2: str = ""
    area: str = ""
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    vlines: list[RefLine] = field(default_factory=list)
    hlines: list[RefLine] = field(default_factory=list)

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def plot_right(self) -> int:
        return self.width - self.right


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (1-2-5 steps)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)), key=lambda x: abs(x - raw))
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9 and len(ticks) < 20:
        ticks.append(round(value, 12))
        value += step
    return ticks


def short_number(value: float) -> str:
    """Compact axis label: 81,250 → 81.3k; 0.0123 → 0.0123."""
    magnitude = abs(value)
    for limit, unit, suffix in ((1e12, 1e12, "T"), (1e9, 1e9, "B"), (1e6, 1e6, "M"),
                                (1e3, 1e3, "k")):
        if magnitude >= limit:
            return f"{value / unit:.4g}{suffix}"
    if magnitude >= 1 or value == 0:
        return f"{value:.4g}" if magnitude < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


def line_chart(x: list[float], y: list[float], *, title: str, description: str,
               x_label: str, y_label: str, vlines: list[tuple[float | None, str, str]] = (),
               hlines: list[tuple[float | None, str, str]] = (), fill_below_zero: bool = False,
               y2: list[float | None] | None = None, y2_label: str = "") -> Chart | None:
    """Lay out a line chart; ``vlines``/``hlines`` are ``(value, text, kind)`` reference lines,
    ``y2`` an optional second series on the same axes.

    Returns None when there is nothing finite to draw.
    """
    pairs = [(a, b) for a, b in zip(x, y, strict=False)
             if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 2:
        return None
    chart = Chart(title=title, description=description, x_label=x_label, y_label=y_label)
    xs = [a for a, _ in pairs]
    ys = [b for _, b in pairs]
    pairs2 = [(a, b) for a, b in zip(x, y2 or [], strict=False)
              if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]
    y_refs = [v for v, _, _ in hlines if v is not None and math.isfinite(v)]
    y_refs += [b for _, b in pairs2]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys + y_refs), max(ys + y_refs)
    if y_high == y_low:
        y_low, y_high = y_low - 1, y_high + 1
    pad = (y_high - y_low) * 0.06
    y_low, y_high = y_low - pad, y_high + pad
    if x_high == x_low:
        x_high = x_low + 1

    def px(value: float) -> float:
        return round(chart.left + (value - x_low) / (x_high - x_low)
                     * (chart.plot_right - chart.left), 1)

    def py(value: float) -> float:
        return round(chart.plot_bottom - (value - y_low) / (y_high - y_low)
                     * (chart.plot_bottom - chart.top), 1)

    chart.path = "M" + " L".join(f"{px(a)},{py(b)}" for a, b in pairs)
    if len(pairs2) >= 2:
        chart.path2 = "M" + " L".join(f"{px(a)},{py(b)}" for a, b in pairs2)
        chart.label2 = y2_label
    if fill_below_zero and y_low < 0 < y_high:
        zero = py(0.0)
        chart.area = (f"M{px(xs[0])},{zero} L" + " L".join(f"{px(a)},{py(min(b, 0.0))}"
                                                           for a, b in pairs)
                      + f" L{px(xs[-1])},{zero} Z")
    chart.x_ticks = [Tick(v, px(v), short_number(v)) for v in nice_ticks(x_low, x_high, 4)]
    chart.y_ticks = [Tick(v, py(v), short_number(v)) for v in nice_ticks(y_low, y_high, 5)]
    chart.vlines = [RefLine(px(v), text, kind) for v, text, kind in vlines
                    if v is not None and math.isfinite(v) and x_low <= v <= x_high]
    chart.hlines = [RefLine(py(v), text, kind) for v, text, kind in hlines
                    if v is not None and math.isfinite(v) and y_low <= v <= y_high]
    return chart


@dataclass(frozen=True)
class IntervalAxis:
    """A horizontal axis from ``low`` to ``high`` (log scale when ``log``), drawn ``width``
    units wide with ``pad`` units either side; :meth:`place` gives a row's positions."""

    low: float
    high: float
    log: bool
    ticks: list[Tick]
    width: int = 240
    pad: int = 14

    def x(self, value: float | None) -> float | None:
        """Position of ``value`` (None when it is missing or off the axis's domain)."""
        if value is None or not math.isfinite(value) or (self.log and value <= 0):
            return None
        f = (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low)) \
            if self.log else (value - self.low) / (self.high - self.low)
        return round(self.pad + min(max(f, 0.0), 1.0) * (self.width - 2 * self.pad), 1)

    def place(self, value: float | None, low: float | None, high: float | None,
              reference: float | None) -> dict[str, float | None]:
        """``{"value", "low", "high", "reference"}`` and their positions ``x``, ``x_low``,
        ``x_high``, ``x_reference``."""
        return {"value": value, "low": low, "high": high, "reference": reference,
                "x": self.x(value), "x_low": self.x(low), "x_high": self.x(high),
                "x_reference": self.x(reference)}


def _percent(share: float) -> str:
    """0.25 → "25%", 0.025 → "2.5%" (as many decimals as the tick has)."""
    return f"{share:.0%}" if abs(share * 100 - round(share * 100)) < 1e-9 else f"{share:.1%}"


LOG_TICKS = (0.1, 0.2, 0.25, 0.5, 0.67, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0)


def interval_axis(values: list[float | None], *, log: bool = False, width: int = 240
                  ) -> IntervalAxis:
    """An axis covering every finite value of ``values`` (estimates, interval ends, references);
    on a log scale (ratios) it always shows 1 and uses the ticks of :data:`LOG_TICKS` inside
    its range, else round 1-2-5 ticks (:func:`nice_ticks`)."""
    finite = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
    if log:
        finite.append(1.0)
        low, high = min(finite) / 1.1, max(finite) * 1.1
        inside = [t for t in LOG_TICKS if low <= t <= high]
    else:
        low, high = (min([*finite, 0.0]), max(finite)) if finite else (0.0, 1.0)
        high = high if high > low else low + 1.0
        inside = [t for t in nice_ticks(low, high, 4) if low <= t <= high]
    axis = IntervalAxis(low, high, log, [], width)
    ticks = [Tick(t, axis.x(t) or 0.0, f"{t:g}×" if log else _percent(t)) for t in inside]
    return IntervalAxis(low, high, log, ticks, width)
