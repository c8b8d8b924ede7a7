"""Report charts (matplotlib, no pyplot state): SVG, each drawn twice — narrow for phones,
wide for desktops — and picked by the page with ``<picture>``/``media``.

Sizes: the narrow figure is 4.2 × 3.7 in (≈ 400 CSS px wide), so its 9.5-pt text stays about
12 px on a 360-px phone screen; the wide one is 8.4 × 3.8 in. Text is kept as SVG text
(``svg.fonttype = none``), so it scales crisply. Cells below the small-cell threshold ``k`` are
drawn as gaps (lines) or folded into "other" (stacked areas); the data are never extrapolated.
Every chart carries ``synthetic data`` in its title when the events are synthetic.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from marginscope.analytics.association import MarketContext
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.findings import Finding
from marginscope.analytics.formatting import day_text
from marginscope.analytics.names import tool_name

__all__ = ["Chart", "device_mix_chart", "price_line", "spike_days", "svg_data_uri",
           "tool_mix_chart", "tools_over_price_chart", "us_share_chart", "usage_charts"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
           "#7f7f7f", "#bcbd22", "#e377c2")
PRICE_COLOUR = "#333333"
SIZES = {"narrow": (4.2, 3.9), "wide": (8.4, 3.8)}
_STYLE = {"svg.fonttype": "none", "font.size": 9.5, "axes.titlesize": 10.5,
          "axes.labelsize": 9.5, "legend.fontsize": 8.5, "xtick.labelsize": 8.5,
          "ytick.labelsize": 8.5, "axes.spines.top": False, "font.family": "DejaVu Sans",
          "svg.hashsalt": "marginscope"}


@dataclass(frozen=True)
class Chart:
    """One chart in two sizes, with the text a reader without images gets."""

    name: str
    title: str
    alt: str
    caption: str
    narrow: bytes
    wide: bytes


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def _both(draw: Callable[[Figure, bool], None], name: str, title: str, alt: str, caption: str) -> Chart:
    out = {}
    with matplotlib.rc_context(_STYLE):
        for size, inches in SIZES.items():
            figure = Figure(figsize=inches, layout="constrained")
            draw(figure, size == "narrow")
            out[size] = _svg(figure)
    return Chart(name=name, title=title, alt=alt, caption=caption, narrow=out["narrow"],
                 wide=out["wide"])


def _day_axis(axis: Axes, days: np.ndarray, narrow: bool) -> None:
    x = np.arange(len(days))
    step = 7 if narrow else 5
    ticks = x[::step]
    axis.set_xticks(ticks)
    labels = [f"{str(days[i])[8:10].lstrip('0')}" for i in ticks]
    labels[0] = day_text(str(days[0]))
    axis.set_xticklabels(labels)
    axis.set_xlim(-0.5, len(days) - 0.5)
    axis.grid(axis="y", color="#dddddd", linewidth=0.6)


def _masked(values: np.ndarray, k: int) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out[(out > 0) & (out < k)] = np.nan
    return out


def _title(text: str, synthetic: bool) -> str:
    return f"{text} (synthetic data)" if synthetic else text


def tools_over_price_chart(days: np.ndarray, matrix: np.ndarray, tools: Sequence[str],
                           close: np.ndarray, flagged: dict[str, list[int]], *, k: int,
                           synthetic: bool, price_label: str, top: int = 5) -> Chart:
    """Daily checks of the busiest tools (lines) over the BTC close (dashed, right axis);
    circles mark days flagged as spikes for that tool."""
    totals = matrix.sum(axis=0)
    order = [i for i in np.argsort(-totals) if totals[i] > 0][:top]

    def draw(figure: Figure, narrow: bool) -> None:
        axis = figure.subplots()
        x = np.arange(len(days))
        for colour, i in zip(PALETTE, order, strict=False):
            series = _masked(matrix[:, i], k)
            axis.plot(x, series, color=colour, linewidth=1.6, label=tool_name(tools[i]))
            marks = [d for d in flagged.get(tools[i], []) if 0 <= d < len(days)]
            if marks:
                axis.plot(marks, series[marks], "o", color=colour, markersize=5,
                          markerfacecolor="white", markeredgewidth=1.5)
        axis.set_ylabel("checks per day")
        axis.set_ylim(bottom=0)
        _day_axis(axis, days, narrow)
        if np.isfinite(close).any():
            price = axis.twinx()
            price.plot(x, close, color=PRICE_COLOUR, linestyle="--", linewidth=1.3,
                       label=price_label)
            price.set_ylabel("BTC close (USD)")
            price.yaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:,.0f}k"))
            price.spines["top"].set_visible(False)
            lines = axis.get_lines()[::1] + price.get_lines()
        else:
            lines = axis.get_lines()
        labelled = [line for line in lines if not line.get_label().startswith("_")]
        figure.legend(labelled, [line.get_label() for line in labelled], loc="outside lower center",
                      ncols=2 if narrow else 3, frameon=False)
        axis.set_title(_title("Checks per tool and the BTC price", synthetic), loc="left")

    names = ", ".join(tool_name(tools[i]) for i in order)
    return _both(draw, "tools_over_price", "Daily checks per tool over the BTC price",
                 alt=f"Line chart of daily checks for {names}, with the BTC daily close on a "
                     "second axis; circles mark spike days.",
                 caption="Lines: checks per UTC day for the busiest tools (circles: days "
                         "flagged as spikes). Dashed: " + price_label + ".")


def _stacked(axis: Axes, x: np.ndarray, shares: np.ndarray, labels: Sequence[str]) -> None:
    axis.stackplot(x, shares.T * 100, labels=labels, colors=PALETTE[:len(labels)], alpha=0.85,
                   linewidth=0)
    axis.set_ylim(0, 100)
    axis.set_ylabel("share of checks (%)")


def device_mix_chart(days: np.ndarray, device_counts: np.ndarray, devices: Sequence[str], *,
                     k: int, synthetic: bool) -> Chart:
    """Stacked daily shares of checks by device class (cells below k folded into "other")."""
    counts = np.asarray(device_counts, dtype=float)
    small = (counts > 0) & (counts < k)
    keep = [i for i, d in enumerate(devices) if d in ("mobile", "desktop", "tablet")
            and counts[:, i].sum() > 0]
    other = counts.sum(axis=1) - counts[:, keep].sum(axis=1) + (counts * small)[:, keep].sum(
        axis=1)
    shown = np.where(small[:, keep], 0.0, counts[:, keep])
    stacks = np.column_stack([shown, other])
    totals = stacks.sum(axis=1, keepdims=True)
    shares = np.divide(stacks, totals, out=np.zeros_like(stacks), where=totals > 0)
    labels = [devices[i] for i in keep] + ["unknown / small cells"]

    def draw(figure: Figure, narrow: bool) -> None:
        axis = figure.subplots()
        _stacked(axis, np.arange(len(days)), shares, labels)
        _day_axis(axis, days, narrow)
        figure.legend(loc="outside lower center", ncols=2 if narrow else 4, frameon=False)
        axis.set_title(_title("Device mix", synthetic), loc="left")

    return _both(draw, "device_mix", "Device mix per day",
                 alt="Stacked area chart of the daily share of checks from mobile, desktop "
                     "and tablet devices.",
                 caption="Share of each day's checks by device class (from the User-Agent at "
                         "capture time).")


def us_share_chart(days: np.ndarray, series: dict[str, tuple[np.ndarray, np.ndarray]],
                   normal: dict[str, tuple[np.ndarray, np.ndarray]], *, k: int,
                   synthetic: bool) -> Chart:
    """U.S. share of checks (all tools and featured tools) with their normal range.

    ``series`` maps a label to (U.S. checks, all checks) per day; ``normal`` to the daily
    10th–90th percentile band of the trailing baseline (NaN where untested).
    """
    def draw(figure: Figure, narrow: bool) -> None:
        axis = figure.subplots()
        x = np.arange(len(days))
        for colour, (label, (us, total)) in zip(PALETTE, series.items(), strict=False):
            us_f = np.asarray(us, dtype=float)
            total_f = np.asarray(total, dtype=float)
            share = np.divide(us_f, total_f, out=np.full(len(x), np.nan), where=total_f > 0)
            share[(us_f < k) | (total_f < k)] = np.nan
            if label in normal:
                low, high = normal[label]
                axis.fill_between(x, low * 100, high * 100, color=colour, alpha=0.12,
                                  linewidth=0)
            axis.plot(x, share * 100, color=colour, linewidth=1.7, label=label)
        axis.set_ylabel("U.S. share (%)")
        axis.set_ylim(bottom=0)
        _day_axis(axis, days, narrow)
        figure.legend(loc="outside lower center", ncols=1 if narrow else 2, frameon=False)
        axis.set_title(_title("U.S. share of checks", synthetic), loc="left")

    return _both(draw, "us_share", "U.S. share of checks",
                 alt="Line chart of the U.S. share of checks per day, for all tools and "
                     "featured tools, with shaded normal ranges.",
                 caption="U.S. share per UTC day; shaded: the normal range (10th–90th "
                         "percentile of the trailing 28 days).")


def tool_mix_chart(days: np.ndarray, matrix: np.ndarray, tools: Sequence[str],
                   boundaries: Sequence[tuple[int, int, str]], *, synthetic: bool,
                   top: int = 6) -> Chart:
    """Stacked daily tool shares with the detected phases marked.

    ``boundaries`` lists ``(start, end, short label)`` day ranges (end exclusive).
    """
    totals = matrix.sum(axis=0)
    order = [i for i in np.argsort(-totals) if totals[i] > 0][:top]
    rest = matrix.sum(axis=1) - matrix[:, order].sum(axis=1)
    stacks = np.column_stack([matrix[:, order], rest]).astype(float)
    daily = stacks.sum(axis=1, keepdims=True)
    shares = np.divide(stacks, daily, out=np.zeros_like(stacks), where=daily > 0)
    labels = [tool_name(tools[i]) for i in order] + ["other tools"]

    def draw(figure: Figure, narrow: bool) -> None:
        axis = figure.subplots()
        _stacked(axis, np.arange(len(days)), shares, labels)
        for number, (start, end, label) in enumerate(boundaries, start=1):
            if start > 0:
                axis.axvline(start - 0.5, color="black", linewidth=1.2)
            axis.text((start + end - 1) / 2, 101, str(number) if narrow else label,
                      ha="center", va="bottom", fontsize=8.5, clip_on=False)
        _day_axis(axis, days, narrow)
        figure.legend(loc="outside lower center", ncols=2 if narrow else 4, frameon=False)
        axis.set_title(_title("Tool mix and phases", synthetic), loc="left", pad=16)

    return _both(draw, "tool_mix", "Tool mix and behavioural phases",
                 alt="Stacked area chart of each tool's daily share of checks, with vertical "
                     "lines at the detected phase changes.",
                 caption="Share of each day's checks per tool; vertical lines: detected phase "
                         "changes (numbers on the phone view refer to the timeline).")


# --- assembly: a cube's days → the charts the report and the dashboard show ------------------

def svg_data_uri(svg: bytes) -> str:
    """An SVG as a ``data:`` URI for an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def spike_days(findings: Iterable[Finding], days: np.ndarray) -> dict[str, list[int]]:
    """Positions in ``days`` of the days flagged as spikes for a tool (all devices and regions),
    per tool: where :func:`tools_over_price_chart` draws its circles."""
    flagged: dict[str, list[int]] = {}
    for f in findings:
        if f.kind == "spike" and f.segment == "all" and f.tool and f.date:
            position = int((np.datetime64(f.date, "D") - days[0]).astype(np.int64))
            if 0 <= position < len(days):
                flagged.setdefault(f.tool, []).append(position)
    return flagged


def price_line(context: MarketContext | None, n_days: int) -> tuple[np.ndarray, str]:
    """The BTC daily close over the chart's ``n_days`` (NaN where there is none) and its label."""
    if context is None or len(context.close) < n_days:
        close = np.full(n_days, np.nan)
    else:
        close = context.close[:n_days]
    label = ("BTC-USD daily close (Yahoo Finance)" if context is not None
             and context.price_source else "BTC close")
    return close, label


def usage_charts(cube: DailyCube, start: int, end: int, *, context: MarketContext | None,
                 findings: Iterable[Finding], k: int, synthetic: bool,
                 us_series: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                 normal: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> list[Chart]:
    """Checks per tool over the BTC price, the device mix and the U.S. share, for the cube's
    days ``[start, end)``.

    Parameters
    ----------
    findings
        Spike findings to circle (:func:`spike_days`); pass none to draw no circles.
    us_series, normal
        As :func:`us_share_chart` takes them; default: the cube's U.S. share of all checks,
        without a normal range.
    """
    days = cube.days[start:end]
    close, price_label = price_line(context, len(days))
    charts = [tools_over_price_chart(days, cube.tool_matrix()[start:end], cube.tools, close,
                                     spike_days(findings, days), k=k, synthetic=synthetic,
                                     price_label=price_label)]
    devices = np.stack([cube.series(None, f"device:{d}")[start:end] for d in cube.devices],
                       axis=1)
    charts.append(device_mix_chart(days, devices, cube.devices, k=k, synthetic=synthetic))
    if us_series is None:
        us_series = {"all checks": (cube.series(None, "region:US")[start:end],
                                    cube.series(None, "all")[start:end])}
    charts.append(us_share_chart(days, us_series, normal or {}, k=k, synthetic=synthetic))
    return charts
