"""A session-level generator of synthetic checks with planted effects (tests only).

``marginscope.sim.planted`` draws daily counts per cell and scatters events; the analyses of
issue 21 (segment contrasts, transitions, setup content) need *sessions*: ordered checks with
a Markov order of tools, a region and a device, an hour, and setup fields. This module makes
them, seeded and vectorised over sessions, and keeps the truth so tests can put planted and
recovered side by side. Every event id starts with ``syn-`` (synthetic).

Model per UTC day: ``sessions ~ Poisson(base · weekday · e^ε)``, ``ε ~ N(0, 0.05²)`` (a
multiplicative day effect); each session draws a region (U.S. 20 %), a device, a length
``1 + Poisson(1.5)`` (at most 10), a first tool from ``initial`` (times a per-region and
per-device tool multiplier, renormalised) and each next tool from the transition matrix
(its row for the previous tool, times the same multipliers). Checks of a session are 20–120 s
apart from an hour drawn from the device's hour profile. Side is long with ``long_share``,
leverage a bucket from ``leverage_weights``. Effects apply on ``[start, end]`` (inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pyarrow as pa

from marginscope.sim.output import session_seq

FIRST, FOLLOWING = date(2025, 10, 4), date(2025, 12, 1)
"""The simulated days (the reference October and November), end exclusive."""
REFERENCE = ("2025-10-04", "2025-10-31")
MONTH = ("2025-11-01", "2025-11-30", "month")


def spans(phase: tuple[str, str]) -> list[tuple[str, str, str]]:
    """The month and one planted phase, as the analyses take spans."""
    return [MONTH, (*phase, "phase")]


TOOLS = ("liquidation_price", "margin_call", "position_size", "futures", "leverage", "stops")
DEVICES = ("mobile", "desktop", "tablet")
LEVERAGE = (2, 3, 5, 10, 20, 25, 50, 100)
LEVERAGE_WEIGHTS = (5, 6, 12, 25, 20, 12, 12, 8)
INITIAL = (0.30, 0.10, 0.20, 0.15, 0.15, 0.10)
HOURS = np.exp(-0.5 * ((np.arange(24) - 14) / 4.0) ** 2) + 0.15


def _matrix() -> np.ndarray:
    m = np.full((len(TOOLS), len(TOOLS)), 1.0)
    np.fill_diagonal(m, 0.5)
    m[0, 1] = 0.15 / 0.85 * (m[0].sum() - m[0, 1])  # P(margin_call | liquidation_price) = 0.15
    return m / m.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Effect:
    """Something planted from ``start`` to ``end`` (ISO days, inclusive)."""

    start: str
    end: str
    transition: tuple[str, str, float] | None = None  # P(to | from) set to the value
    long_share: tuple[str, float] | None = None  # (tool, long share)
    leverage_shift: tuple[str, int] | None = None  # (tool, buckets moved up)
    desktop_hours: int = 0  # desktop hour profile shifted this many hours later
    first_tool: tuple[str, str, float] | None = None  # (device, tool, P(first check = tool))


@dataclass(frozen=True)
class World:
    """Normal behaviour: tool multipliers per region and device (1 = no contrast)."""

    base_sessions: float = 1500.0
    us_share: float = 0.2
    device_mix: tuple[float, ...] = (0.56, 0.37, 0.07)
    region_tool: dict[str, float] = field(default_factory=dict)  # U.S. multipliers
    mobile_tool: dict[str, float] = field(default_factory=dict)  # mobile multipliers
    long_share: float = 0.6


def _multipliers(world: World, us: np.ndarray, device: np.ndarray) -> np.ndarray:
    """Per-session tool multipliers (sessions × tools)."""
    region = np.asarray([world.region_tool.get(t, 1.0) for t in TOOLS])
    mobile = np.asarray([world.mobile_tool.get(t, 1.0) for t in TOOLS])
    out = np.ones((us.size, len(TOOLS)))
    out[us] *= region
    out[device == 0] *= mobile
    return out


def first_weights(weights: np.ndarray, planted: tuple[str, float]) -> np.ndarray:
    """Rows of first-tool weights with ``planted[0]``'s probability set to ``planted[1]``."""
    k = TOOLS.index(planted[0])
    out = weights / weights.sum(axis=-1, keepdims=True)
    others = 1.0 - out[..., k : k + 1]
    out = out * (1.0 - planted[1]) / others
    out[..., k] = planted[1]
    return out


def _draw(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of a (rows × k) weight matrix."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return (
        (rng.random((weights.shape[0], 1)) > cumulative).sum(axis=1).clip(0, weights.shape[1] - 1)
    )


def simulate(
    seed: int,
    effects: tuple[Effect, ...] = (),
    *,
    world: World | None = None,
    first: date = date(2025, 10, 4),
    last: date = date(2025, 11, 30),
) -> pa.Table:
    """Events from ``first`` to ``last`` (inclusive) as an Arrow table in the events schema
    columns the analytics read."""
    world = world or World()
    rng = np.random.default_rng(seed)
    base = _matrix()
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("ts", "tool", "device", "country", "session", "side", "leverage")
    }
    session_id = 0
    day = first
    while day <= last:
        iso = day.isoformat()
        active = [e for e in effects if e.start <= iso <= e.end]
        weekday = (1.0, 1.02, 1.03, 1.0, 0.98, 0.9, 0.92)[day.weekday()]
        n = int(rng.poisson(world.base_sessions * weekday * np.exp(rng.normal(0, 0.05))))
        us = rng.random(n) < world.us_share
        device = _draw(rng, np.tile(np.asarray(world.device_mix), (n, 1)))
        length = np.minimum(1 + rng.poisson(1.5, n), 10)
        mult = _multipliers(world, us, device)
        matrix = base.copy()
        for e in active:
            if e.transition:
                a, b, p = (
                    TOOLS.index(e.transition[0]),
                    TOOLS.index(e.transition[1]),
                    e.transition[2],
                )
                others = matrix[a].sum() - matrix[a, b]
                matrix[a] *= (1 - p) / others
                matrix[a, b] = p
        tools = np.full((n, 10), -1)
        initial = np.asarray(INITIAL)[None, :] * mult
        for e in active:
            if e.first_tool:
                chosen = device == DEVICES.index(e.first_tool[0])
                initial[chosen] = first_weights(initial[chosen], e.first_tool[1:])
        tools[:, 0] = _draw(rng, initial)
        for pos in range(1, 10):
            alive = length > pos
            prev = tools[alive, pos - 1]
            tools[alive, pos] = _draw(rng, matrix[prev] * mult[alive])
        hours = np.tile(HOURS, (n, 1))
        shift = sum(e.desktop_hours for e in active)
        if shift:
            hours[device == 1] = np.roll(HOURS, shift)
        hour = _draw(rng, hours)
        start_s = day_seconds(day) + hour * 3600 + rng.integers(0, 3000, n)
        mask = tools >= 0
        gaps = rng.integers(20, 120, (n, 10)).cumsum(axis=1)
        ts = (start_s[:, None] + gaps)[mask]
        tool = tools[mask]
        rows = np.repeat(np.arange(n), length)
        long_p = np.full(tool.size, world.long_share)
        lev_w = np.tile(np.asarray(LEVERAGE_WEIGHTS, dtype=float), (tool.size, 1))
        for e in active:
            if e.long_share:
                long_p[tool == TOOLS.index(e.long_share[0])] = e.long_share[1]
            if e.leverage_shift:
                chosen = tool == TOOLS.index(e.leverage_shift[0])
                lev_w[chosen] = np.roll(LEVERAGE_WEIGHTS, e.leverage_shift[1])
                lev_w[chosen, : e.leverage_shift[1]] = 1.0
        columns["ts"].append(ts * 1_000_000)
        columns["tool"].append(tool)
        columns["device"].append(device[rows])
        columns["country"].append(us[rows])
        columns["session"].append(session_id + rows)
        columns["side"].append(rng.random(tool.size) < long_p)
        columns["leverage"].append(np.asarray(LEVERAGE)[_draw(rng, lev_w)])
        session_id += n
        day += timedelta(days=1)
    ts = np.concatenate(columns["ts"])
    order = np.lexsort((ts, np.concatenate(columns["session"])))
    total = ts.size
    pick = {k: np.concatenate(v)[order] for k, v in columns.items()}
    return pa.table(
        {
            "event_id": pa.array([f"syn-{seed}-{i:09d}" for i in range(total)]),
            "ts": pa.array(pick["ts"], type=pa.timestamp("us", tz="UTC")),
            "tool": pa.array(np.asarray(TOOLS)[pick["tool"]]),
            "device": pa.array(np.asarray(DEVICES)[pick["device"]]),
            "country": pa.array(np.where(pick["country"], "US", "DE")),
            "visitor": pa.array([f"v{s}" for s in pick["session"]]),
            "session": pa.array([f"s{s}" for s in pick["session"]]),
            "seq": session_seq(pick["session"]),
            "side": pa.array(np.where(pick["side"], "long", "short")),
            "leverage": pa.array(pick["leverage"].astype(np.int16)),
            "notional_bucket": pa.array(np.full(total, 1000, dtype=np.int64)),
            "margin_mode": pa.array(np.full(total, "isolated")),
            "venue": pa.array(np.full(total, "binance-usdm")),
            "symbol": pa.array(np.full(total, "BTC")),
        }
    )


def show(name: str, text: str) -> None:
    """Print ``text`` (run with ``-s``) and keep it as ``test-artifacts/<name>``."""
    from .conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(text + "\n", encoding="utf-8")
    print("\n" + text)


def day_seconds(day: date) -> int:
    """Seconds since 1970 of a UTC day's midnight."""
    return (day - date(1970, 1, 1)).days * 86_400


def true_share(
    world: World,
    tool: str,
    *,
    us: bool | None = None,
    device: int | None = None,
    matrix: np.ndarray | None = None,
) -> float:
    """Expected share of ``tool`` among a segment's checks (exact: position marginals of the
    Markov chain weighted by P(length > k))."""
    matrix = _matrix() if matrix is None else matrix
    mult = np.ones(len(TOOLS))
    if us:
        mult *= np.asarray([world.region_tool.get(t, 1.0) for t in TOOLS])
    if device == 0:
        mult *= np.asarray([world.mobile_tool.get(t, 1.0) for t in TOOLS])
    start = np.asarray(INITIAL) * mult
    start /= start.sum()
    step = matrix * mult[None, :]
    step /= step.sum(axis=1, keepdims=True)
    from math import exp, factorial

    survive = [
        1.0 - sum(exp(-1.5) * 1.5**j / factorial(j) for j in range(k)) for k in range(10)
    ]  # P(length > k) = P(Poisson ≥ k)
    dist, weighted = start, np.zeros(len(TOOLS))
    for k in range(10):
        weighted += survive[k] * dist
        dist = dist @ step
    return float(weighted[TOOLS.index(tool)] / weighted.sum())


def length_probabilities() -> np.ndarray:
    """P(session length = 1 … 10): ``min(1 + Poisson(1.5), 10)``."""
    from math import exp, factorial

    p = np.asarray([exp(-1.5) * 1.5**j / factorial(j) for j in range(9)])
    return np.append(p, 1.0 - p.sum())


def planted_matrix(transition: tuple[str, str, float] | None = None) -> np.ndarray:
    """The Markov matrix, with one transition probability set as :class:`Effect` does."""
    matrix = _matrix()
    if transition:
        a, b, p = TOOLS.index(transition[0]), TOOLS.index(transition[1]), transition[2]
        matrix[a] *= (1 - p) / (matrix[a].sum() - matrix[a, b])
        matrix[a, b] = p
    return matrix


def true_path_share(path: tuple[str, ...], matrix: np.ndarray, start: np.ndarray) -> float:
    """P(a session's first three checks are ``path``; ``END`` past its end)."""
    lengths = length_probabilities()
    steps = [s for s in path if s != "END"]
    p = start[TOOLS.index(steps[0])]
    for a, b in pairwise(steps):
        p *= matrix[TOOLS.index(a), TOOLS.index(b)]
    if len(steps) < 3:
        return float(p * lengths[len(steps) - 1])
    return float(p * lengths[2:].sum())


def true_first_share(tool: str, matrix: np.ndarray, start: np.ndarray) -> float:
    """P(a check of ``tool`` is its session's first)."""
    survive = 1.0 - np.concatenate(([0.0], np.cumsum(length_probabilities())[:-1]))
    dist, total = start, 0.0
    for k in range(10):
        total += survive[k] * dist[TOOLS.index(tool)]
        dist = dist @ matrix
    return float(start[TOOLS.index(tool)] / total)


def true_funnel(steps: list[list[str]], matrix: np.ndarray, start: np.ndarray) -> np.ndarray:
    """P(a session reaches funnel step 1, 2, 3): steps in order, other checks between."""
    lengths = length_probabilities()
    member = np.asarray([[t in step for t in TOOLS] for step in steps])
    joint = np.zeros((len(TOOLS), len(steps) + 1))  # (tool, steps reached)
    joint[:, 0] = start * ~member[0]
    joint[:, 1] = start * member[0]
    reached = np.zeros(len(steps))
    for position in range(10):
        for j in range(len(steps)):
            reached[j] += lengths[position] * joint[:, j + 1 :].sum()
        moved = np.zeros_like(joint)
        for s in range(len(steps) + 1):
            nxt = joint[:, s] @ matrix
            if s < len(steps):
                moved[:, s] += nxt * ~member[s]
                moved[:, s + 1] += nxt * member[s]
            else:
                moved[:, s] += nxt
        joint = moved
    return reached
