"""A chart of a replay: price path, liquidation level, equity, top-ups and the liquidation.

Two panels on one time axis: the price bars with the liquidation level (a step line that moves
with funding and top-ups), top-up and liquidation markers; below, equity against the margin
paid in (initial margin plus top-ups).

Draws from the ``scenario`` calculator's result — the JSON the CLI prints and the API returns —
so any saved result can be drawn again. matplotlib (Agg backend, imported on first use); the
file type follows the suffix (``.png`` at 150 dpi, or ``.svg``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from marginscope.risk.venues import VENUES

__all__ = ["draw_replay"]

PRICE, LIQUIDATION, EQUITY, TOP_UP = "#1f5fa8", "#c62828", "#6a3d9a", "#2e7d32"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def _title(result: dict[str, Any], width: int) -> str:
    """Three short lines: the position, the path (real or scripted), the plan and outcome."""
    p, s, path, plan = result["position"], result["summary"], result["path"], result["plan"]
    currency = s["margin_currency"]
    venue = p["venue"]
    if venue in VENUES:  # "Binance USDⓈ-M" (Ⓢ is not in the default font), "Generic"
        venue = VENUES[venue].title.replace("Ⓢ", "S").split(" (")[0]
    what = (f"{p['leverage']:.3g}× {p['side']} {p['qty']:g} {p['symbol'] or ''} on {venue}, "
            f"isolated, entry {_number(p['entry'])}").replace("  ", " ")
    if path["kind"] == "real":
        source = (f"Real Binance BTCUSDT perpetual {path['bar_hours']:g}h bars, "
                  f"{path['start'][:10]} → {path['end'][:10]}")
    else:
        source = f"Scripted path \"{path['legs']}\" (not market data)"
    if plan:
        defense = (f"plan: +{_number(plan['add'])} {currency} at margin ratio "
                   f"{plan['at_margin_ratio']:.0%} (≤{plan['max_times']}×)")
    else:
        defense = "no defense plan"
    if s["liquidated"]:
        outcome = (f"LIQUIDATED {s['liquidation_time'][:16].replace('T', ' ')} UTC at "
                   f"{_number(s['liquidation_price'])}, lost {_number(s['net_cost'])} {currency}")
    else:
        outcome = (f"SURVIVED: added {_number(s['margin_added'])}, funding "
                   f"{s['funding_paid']:,.2f}, net {s['net_pnl']:+,.2f} {currency}")
    lines = [what, source, f"{defense} → {outcome}"]
    return "\n".join(textwrap.fill(line, width) for line in lines)


def _column(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)


def draw_replay(result: dict[str, Any], target: str | Path,
                size: tuple[float, float] = (9.0, 5.5)) -> Path:
    """Save the chart of a replay to ``target`` (``.png`` or ``.svg``); returns the path.

    Parameters
    ----------
    result : dict
        The ``scenario`` calculator's result (``summary``, ``position``, ``path``, ``plan``,
        ``series`` rows).
    target : str or Path
        Output file; its suffix picks the format.
    size : (float, float)
        Width and height in inches (a phone-width figure: ``(6, 4)``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows, s, path = result["series"], result["summary"], result["path"]
    currency = s["margin_currency"]
    bar = np.timedelta64(round(path["bar_hours"] * 3600), "s")
    start = np.array([r["time"].rstrip("Z") for r in rows], dtype="datetime64[s]")
    edges = np.append(start, start[-1] + bar)  # bar boundaries: each bar spans [tᵢ, tᵢ₊₁)

    def extend(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    low, high, close = (_column(rows, k) for k in ("low", "high", "close"))
    level, equity = _column(rows, "liquidation_price"), _column(rows, "equity")
    paid_in = s["initial_margin"] + np.cumsum(_column(rows, "top_up"))
    narrow = size[0] < 7.5
    style = {"font.size": 7.5 if narrow else 9, "axes.titlesize": 7.5 if narrow else 9.5,
             "axes.spines.top": False, "axes.spines.right": False}
    with plt.rc_context(style):
        fig, (ax, low_ax) = plt.subplots(
            2, 1, figsize=size, sharex=True, layout="constrained",
            gridspec_kw={"height_ratios": (3.0, 1.3)})
        ax.fill_between(edges, extend(low), extend(high), step="post", color=PRICE, alpha=0.18,
                        linewidth=0, label="bar low–high")
        ax.plot(start + bar, close, color=PRICE, linewidth=1.2, label="close")
        ax.axhline(result["position"]["entry"], color="0.45", linewidth=0.8, linestyle=":",
                   label="entry")
        ax.step(edges, extend(level), where="post", color=LIQUIDATION, linewidth=1.3,
                linestyle="--", label="liquidation price")
        # labels go beside the old liquidation level, on the side the price never visited:
        # under it for a long, above it for a short
        below = result["position"]["side"] == "long"
        offset, va = ((-6, -8), "top") if below else ((-6, 8), "bottom")
        for t in s["top_ups"]:
            x = start[t["bar"]] + bar // 2
            ax.plot(x, t["price"], marker="^", markersize=7, color=TOP_UP, linestyle="none")
            low_ax.axvline(x, color=TOP_UP, linewidth=0.8, alpha=0.6)
            text = f"+{_number(t['amount'])}"
            if len(s["top_ups"]) <= 2:
                text += f" at {_number(t['price'])}"
            early = t["bar"] < 0.2 * len(rows)  # no room on the left: label to the right
            ax.annotate(text, (x, t["price"]), xytext=(-offset[0], offset[1]) if early else offset,
                        textcoords="offset points", ha="left" if early else "right", va=va,
                        color=TOP_UP, fontsize="small")
        if s["top_ups"]:
            ax.plot([], [], marker="^", color=TOP_UP, linestyle="none", label="top-up")
        if s["liquidated"]:
            x = start[-1] + bar // 2
            ax.plot(x, s["liquidation_price"], marker="X", markersize=9, color=LIQUIDATION,
                    linestyle="none", label="liquidation", clip_on=False)
            ax.annotate(f"liquidated at {_number(s['liquidation_price'])}",
                        (x, s["liquidation_price"]), xytext=offset,
                        textcoords="offset points", ha="right", va=va,
                        color=LIQUIDATION, fontsize="small")
        linear = result["position"]["product"] == "linear" and currency not in ("quote", "coin")
        ax.set_ylabel(f"price ({currency})" if linear else "price")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _number(v)))
        ax.grid(alpha=0.25, linewidth=0.5)
        ax.legend(loc="best", fontsize="small", frameon=False, ncol=2 if narrow else 3)

        low_ax.fill_between(start + bar, 0, equity, color=EQUITY, alpha=0.15, linewidth=0)
        low_ax.plot(start + bar, equity, color=EQUITY, linewidth=1.1, label="equity")
        low_ax.step(edges, extend(paid_in), where="post", color="0.35", linewidth=0.9,
                    linestyle="--", label="margin paid in")
        if s["liquidated"]:
            low_ax.plot(start[-1] + bar, 0.0, marker="X", markersize=8, color=LIQUIDATION,
                        linestyle="none", clip_on=False)
        low_ax.set_ylabel(f"equity ({currency})")
        low_ax.set_ylim(bottom=0)
        low_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _number(v)))
        low_ax.grid(alpha=0.25, linewidth=0.5)
        low_ax.legend(loc="upper right", fontsize="small", frameon=False, ncol=2)

        locator = mdates.AutoDateLocator(minticks=3, maxticks=6 if narrow else 9)
        low_ax.xaxis.set_major_locator(locator)
        low_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
        low_ax.set_xlim(edges[0], edges[-1])

        ax.set_title(_title(result, round(size[0] * (13 if narrow else 12))), loc="left")
        target = Path(target)
        fig.savefig(target, dpi=150)
        plt.close(fig)
    return target
