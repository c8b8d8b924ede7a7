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

__all__ = ["DEVICE_COLOURS", "Chart", "colours", "device_mix_chart", "event_marks",
           "marks_caption",
           "price_line", "spike_days", "svg_data_uri", "tool_colour", "tool_mix_chart",
           "tools_over_price_chart", "us_share_chart", "usage_charts"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
           "#7f7f7f", "#bcbd22", "#e377c2", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#5254a3", "#6b6ecf")
PRICE_COLOUR = "#333333"
EVENT_COLOUR = "#9b1c1c"
DEVICE_COLOURS = {"mobile": "#1f77b4", "desktop": "#ff7f0e", "tablet": "#2ca02c",
                  "unknown": "#7f7f7f", "other": "#bdbdbd"}
"""One colour per device class, in the report's charts and the dashboard alike."""
OTHER_COLOUR = "#bdbdbd"


def tool_colour(tool: str) -> str:
    """A tool's colour everywhere (report charts, dashboard). The tools with a stage
    (check / defend / rebuild: the ones the phases are about) take the first ten, distinct,
    :data:`PALETTE` entries in registry order; any other id one of the rest, by its name."""
    from marginscope.analytics.names import tool_names
    from marginscope.analytics.phases import theme_tools

    staged = {t for group in theme_tools().values() for t in group}
    order = [t for t in tool_names() if t in staged]
    if tool in order and order.index(tool) < 10:
        return PALETTE[order.index(tool)]
    return PALETTE[10 + sum(map(ord, tool)) % (len(PALETTE) - 10)]


def colours(tools: Sequence[str]) -> dict[str, str]:
    """``{tool id or device: colour}`` for ``tools`` and every device class (the dashboard)."""
    return {**{t: tool_colour(t) for t in tools}, **DEVICE_COLOURS}


def event_marks(context: MarketContext | None, days: np.ndarray, limit: int = 5
                ) -> list[tuple[int, str]]:
    """(day position, short label) of the most citable market events in ``days``: what the
    time axes mark. One mark per day; at most ``limit``."""
    if context is None or not len(days):
        return []
    from marginscope.analytics.association import CITED, EVENT_PRIORITY

    rank = {kind: i for i, kind in enumerate(EVENT_PRIORITY)}
    first = str(days[0])
    marks: dict[int, tuple[int, str]] = {}
    for event in sorted((e for e in context.events if e.kind in CITED),
                        key=lambda e: (rank.get(e.kind, len(rank)), e.time)):
        day = event.time[:10]
        position = int((np.datetime64(day, "D") - np.datetime64(first, "D")).astype(int))
        if not 0 <= position < len(days) or position in marks:
            continue
        marks[position] = (position, _event_label(event))
        if len(marks) == limit:
            break
    return sorted(marks.values())


def _event_label(event: object) -> str:
    kind, value = event.kind, event.value  # type: ignore[attr-defined]
    details = event.details  # type: ignore[attr-defined]
    day = day_text(event.time[:10])  # type: ignore[attr-defined]
    if kind == "round_number_break":
        return f"{day}: {details.get('field', 'low')} < {details.get('level', 0) / 1000:,.0f}k"
    if kind in ("largest_daily_move", "largest_bar_move"):
        return f"{day}: BTC {value:+.1%}"
    if kind == "month_low":
        return f"{day}: low {value / 1000:,.1f}k"
    if kind in ("drawdown_threshold", "drawdown"):
        return f"{day}: {value:.0%} from high"
    return f"{day}: {kind.replace('_', ' ')}"


def _mark_events(axis: Axes, marks: Sequence[tuple[int, str]]) -> None:
    """Dotted vertical lines at market events, numbered above the plot (the caption dates and
    labels each number: text on the lines would not be legible on a phone)."""
    for number, (position, _label) in enumerate(marks, start=1):
        axis.axvline(position, color=EVENT_COLOUR, linestyle=":", linewidth=1.2, zorder=0)
        axis.annotate(str(number), (position, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                      fontsize=8.5, fontweight="bold", color=EVENT_COLOUR)


def marks_caption(marks: Sequence[tuple[int, str]]) -> str:
    """`` Market events (dotted): 1 Nov 4: low < 100k; 2 …`` or empty."""
    if not marks:
        return ""
    return " Market events (red dotted lines): " + "; ".join(
        f"{number} {label}" for number, (_p, label) in enumerate(marks, start=1)) + "."


SIZES = {"narrow": (4.2, 3.9), "wide": (8.4, 3.8)}
_STYLE = {"svg.fonttype": "none", "font.size": 9.5, "axes.titlesize": 10.5,
          "axes.labelsize": 9.5, "legend.fontsize": 8.5, "xtick.labelsize": 8.5,
          "ytick.labelsize": 8.5, "axes.spines.top": False, "font.family": "DejaVu Sans",
          "svg.hashsalt": "marginscope", "axes.titley": 1.0}
"""``axes.titley = 1.0``: the titles sit just above the plot, where matplotlib's automatic
placement put them anyway (no axis has ticks on top); fixed, it does not measure the axes'
decorations (and make minor ticks) at every layout pass and draw to find that out."""


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
                           synthetic: bool, price_label: str, top: int = 5,
                           also: Sequence[str] = (),
                           marks: Sequence[tuple[int, str]] = ()) -> Chart:
    """Daily checks of the busiest tools and of the tools in ``also`` (e.g. those a phase is
    named for) as lines over the BTC close (dashed, right axis); circles mark days flagged as
    spikes for that tool; ``marks`` (:func:`event_marks`) are dated market events."""
    totals = np.nansum(matrix, axis=0)
    order = [i for i in np.argsort(-totals) if totals[i] > 0][:top]
    order += [tools.index(t) for t in also if t in tools and tools.index(t) not in order
              and totals[tools.index(t)] > 0]

    def draw(figure: Figure, narrow: bool) -> None:
        axis = figure.subplots()
        x = np.arange(len(days))
        for i in order:
            colour = tool_colour(tools[i])
            series = _masked(matrix[:, i], k)
            axis.plot(x, series, color=colour, linewidth=1.6, label=tool_name(tools[i]))
            circles = [d for d in flagged.get(tools[i], []) if 0 <= d < len(days)]
            if circles:
                axis.plot(circles, series[circles], "o", color=colour, markersize=5,
                          markerfacecolor="white", markeredgewidth=1.5)
        axis.set_ylabel("checks per day")
        axis.set_ylim(bottom=0)
        axis.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _day_axis(axis, days, narrow)
        _mark_events(axis, marks)
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
        axis.set_title(_title("Checks per tool and the BTC price", synthetic), loc="left",
                       pad=14 if marks else 6)

    names = ", ".join(tool_name(tools[i]) for i in order)
    return _both(draw, "tools_over_price", "Daily checks per tool over the BTC price",
                 alt=f"Line chart of daily checks for {names}, with the BTC daily close on a "
                     "second axis; circles mark spike days.",
                 caption="Lines: checks per UTC day for the busiest tools and those a phase "
                         "is named for (circles: days flagged as spikes). Dashed: "
                         + price_label + "." + marks_caption(marks))


def _stacked(axis: Axes, x: np.ndarray, shares: np.ndarray, labels: Sequence[str],
             palette: Sequence[str]) -> None:
    axis.stackplot(x, shares.T * 100, labels=labels, colors=list(palette), alpha=0.85,
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
        _stacked(axis, np.arange(len(days)), shares, labels,
                 [DEVICE_COLOURS.get(devices[i], OTHER_COLOUR) for i in keep] + [OTHER_COLOUR])
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
                   top: int = 10) -> Chart:
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
    palette = [tool_colour(tools[i]) for i in order] + [OTHER_COLOUR]
    if not rest.any():  # every tool has its own band: no empty "other"
        shares, labels, palette = shares[:, :-1], labels[:-1], palette[:-1]

    def draw(figure: Figure, narrow: bool) -> None:
        axis = figure.subplots()
        _stacked(axis, np.arange(len(days)), shares, labels, palette)
        for number, (start, end, label) in enumerate(boundaries, start=1):
            if start > 0:
                axis.axvline(start - 0.5, color="black", linewidth=1.2)
            axis.text((start + end - 1) / 2, 101, str(number) if narrow else label,
                      ha="center", va="bottom", fontsize=8.5, clip_on=False)
        _day_axis(axis, days, narrow)
        figure.legend(loc="outside lower center", ncols=2 if narrow else 5, frameon=False)
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
                 normal: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                 also: Sequence[str] = (), matrix: np.ndarray | None = None) -> list[Chart]:
    """Checks per tool over the BTC price, the device mix and the U.S. share, for the cube's
    days ``[start, end)``.

    Parameters
    ----------
    findings
        Spike findings to circle (:func:`spike_days`); pass none to draw no circles.
    us_series, normal
        As :func:`us_share_chart` takes them; default: the cube's U.S. share of all checks,
        without a normal range.
    also
        Tools drawn in the first chart even if they are not among the busiest (the tools the
        month's phases are named for).
    matrix
        The daily checks per tool to draw (default: the cube's), e.g. with the cells that
        complementary suppression hides set to NaN.
    """
    days = cube.days[start:end]
    close, price_label = price_line(context, len(days))
    drawn = cube.tool_matrix()[start:end] if matrix is None else matrix
    charts = [tools_over_price_chart(days, drawn, cube.tools, close,
                                     spike_days(findings, days), k=k, synthetic=synthetic,
                                     price_label=price_label, also=also,
                                     marks=event_marks(context, days))]
    devices = np.stack([cube.series(None, f"device:{d}")[start:end] for d in cube.devices],
                       axis=1)
    charts.append(device_mix_chart(days, devices, cube.devices, k=k, synthetic=synthetic))
    if us_series is None:
        us_series = {"all checks": (cube.series(None, "region:US")[start:end],
                                    cube.series(None, "all")[start:end])}
    charts.append(us_share_chart(days, us_series, normal or {}, k=k, synthetic=synthetic))
    return charts
