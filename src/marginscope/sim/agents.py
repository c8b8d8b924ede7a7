"""Traders with positions, stepped hour by hour on the real market path (NumPy over agents).

Each agent has funds, a venue, a margin mode and a usual leverage (:mod:`.population`), and at
most one BTC position: side, quantity, entry, margin (isolated margin, or the cross wallet
backing it), a stop, and its liquidation price from the risk engine — isolated positions with
the venue's :meth:`Terms.liquidation_price <marginscope.risk.terms.Terms.liquidation_price>`,
cross ones with :func:`marginscope.risk.account.cross_prices` — recomputed whenever the
position or its margin changes (opening, adding, averaging, every funding print). Venues
without a shipped BTC tier table are priced with Binance USDⓈ-M's (as :mod:`.inputs` does).

Every hour (:func:`step_agents`):

1. a funding print, where one was collected, moves every open position's margin by
   ``− side · rate · qty · price``; a missing print moves nothing and the agents keep the
   last rate they knew;
2. stops, then liquidations, fire where the hour's low (longs) or high (shorts) reaches them;
3. each agent's session hazard follows from its state (:mod:`.behaviour`); an agent whose
   session fires acts on its state: the first of :data:`~.behaviour.REASONS` that holds —
   adds margin (the amount :func:`marginscope.risk.margin.margin_to_target` gives to restore
   its distance), cuts, rebuilds lower or leaves after a liquidation, adds when funding pays
   its side, averages down, sets a stop, closes, or sizes a new setup and maybe opens it.

The agents' truth (:class:`Truth`) is counted as it happens: per day, the agents within 5 %
and 10 % of their liquidation price, liquidated, stopped, adding margin, averaging down,
opening, closing, leaving; the long share of open positions; sessions per reason.
"""

from __future__ import annotations

import numpy as np

from marginscope.sim.behaviour import REASONS, TEMPLATES, Assumptions, gamma_shocks, local_rhythm
from marginscope.sim.hazard import candidates
from marginscope.sim.path import HourlyPath
from marginscope.sim.population import Population, utc_offsets
from marginscope.sim.pricer import Pricer
from marginscope.sim.truth import Sessions, Truth

__all__ = ["Sessions", "Truth", "step_agents"]

_MIN_FUNDS = 10.0  # USD below which an agent cannot open or add (assumption)
_NEAR = (0.05, 0.10)  # truth: within 5 % / 10 % of the liquidation price
_HOT = np.float32  # the per-agent arrays every hour reads (memory-bound passes)
_KEYS = tuple(TEMPLATES)
_T = {key: i for i, key in enumerate(_KEYS)}
_R = {reason: i for i, reason in enumerate(REASONS)}


def step_agents(
    path: HourlyPath,
    population: Population,
    entries: np.ndarray,
    rng: np.random.Generator,
    a: Assumptions,
) -> tuple[Sessions, Truth]:
    """Run the agents over the simulated hours of ``path`` (see the module docstring).

    ``entries`` are real prices positions open at before the path's first hour (daily closes
    of the fortnight before); the agents holding at the start drew their entry from them. The
    path's look-back week is a burn-in: the agents live through it, but its sessions and
    truth are not kept.
    """
    n = len(population)
    pricer = Pricer()
    burn = path.first // 24  # the look-back week is the agents' burn-in
    days = np.arange(path.days[0] - burn, path.days[-1] + 1)
    n_days = len(days)
    day_of = path.day_index() + burn
    hours = np.arange(len(path.time_ms))
    offsets = utc_offsets(population.zones, days)[population.zone]  # (agent, day)
    is_us = np.asarray(population.countries)[population.country] == "US"
    add_p = np.where(is_us, a.us_add_margin, a.rest_add_margin)
    attention = population.activity.astype(_HOT)
    day_shock = gamma_shocks(rng, a.day_shock_cv, n_days)
    hour_shock = gamma_shocks(rng, a.hour_shock_cv, len(hours))

    # --- state --------------------------------------------------------------------------
    funds = population.wallet.copy()
    active = np.ones(n, dtype=bool)
    is_open = np.zeros(n, dtype=bool)
    side = np.ones(n, dtype=_HOT)
    qty = np.zeros(n)
    entry = np.ones(n)
    margin = np.zeros(n)
    lev = population.leverage.astype(float).copy()
    liq = np.full(n, np.nan)
    stop = np.full(n, np.nan)
    d0 = np.ones(n, dtype=_HOT)  # distance to liquidation when the position was (re)built
    seen = np.ones(n, dtype=_HOT)  # distance at the agent's last look
    pending = np.zeros(n, dtype=bool)
    changed = np.zeros(n, dtype=bool)  # positions to reprice this hour
    last_rate = np.nan  # the last funding print the agents know

    def open_positions(
        rows: np.ndarray,
        price: float,
        plan_side: np.ndarray,
        plan_lev: np.ndarray,
        plan_notional: np.ndarray,
    ) -> np.ndarray:
        """Open the planned setups of ``rows`` that funds allow; returns the rows opened."""
        can = funds[rows] >= _MIN_FUNDS
        rows, plan_side, plan_lev, plan_notional = (
            x[can] for x in (rows, plan_side, plan_lev, plan_notional)
        )
        q = plan_notional / price
        allowed = pricer.max_leverage(population.venue[rows], q, np.full(rows.size, price))
        use = np.minimum(plan_lev, allowed)
        side[rows], qty[rows], entry[rows] = plan_side, q, price
        lev[rows] = np.maximum(1.0, np.minimum(lev[rows], use))
        margin[rows] = plan_notional / use
        funds[rows] -= margin[rows]
        is_open[rows], stop[rows] = True, np.nan
        return rows

    def plan(rows: np.ndarray, price: float, ret_7d: float) -> tuple[np.ndarray, ...]:
        known = 0.0 if np.isnan(last_rate) else last_rate / 1e-4
        logit = (
            a.long_logit
            + population.long_tilt[rows]
            + a.dip_buying * (-ret_7d / 0.1)
            - a.funding_side * known
        )
        long = rng.random(rows.size) < 1 / (1 + np.exp(-logit))
        low, high = a.size_fraction
        fraction = rng.uniform(low, high, rows.size)
        leverage = np.maximum(1.0, lev[rows])
        return np.where(long, 1.0, -1.0), leverage, np.maximum(funds[rows], 0) * fraction * leverage

    # positions held at the start of the burn-in: opened at a real daily close before it
    start_price = float(path.price[0])
    held = np.flatnonzero(rng.random(n) < a.holding_at_start)
    at = entries[rng.integers(0, len(entries), held.size)]
    s0, l0, x0 = plan(held, start_price, 0.0)
    for price in np.unique(at):
        rows = held[at == price]
        pick = np.isin(held, rows)
        open_positions(rows, float(price), s0[pick], l0[pick], x0[pick])
    # reach: the liquidation price, or a level never reached where there is none (or no
    # position); trigger: what the market must touch to end the position (stop, else reach)
    reach = np.zeros(n, dtype=_HOT)
    trigger = np.zeros(n, dtype=_HOT)

    def refresh(rows: np.ndarray) -> None:
        """Recompute ``reach`` and ``trigger`` of ``rows`` after their state changed."""
        r_liq, r_side, r_open, r_stop = liq[rows], side[rows], is_open[rows], stop[rows]
        level = np.where(np.isnan(r_liq), np.where(r_side > 0, 0.0, 2.0 * entry[rows]), r_liq)
        far = -r_side * 1e18  # flat: a level no price reaches
        level = np.where(r_open, level.astype(_HOT), far)
        reach[rows] = level
        trigger[rows] = np.where(r_open, np.where(np.isnan(r_stop), level, r_stop), far)

    def position_of(rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """What the pricer needs of positions ``rows``: venue, mode, side, qty, entry, margin."""
        return (
            population.venue[rows],
            population.cross[rows],
            side[rows],
            qty[rows],
            entry[rows],
            margin[rows],
        )

    def distance_at(rows: np.ndarray, price: float) -> np.ndarray:
        return np.maximum(side[rows] * (price - reach[rows]) / price, 1e-9)

    opened = np.flatnonzero(is_open)
    liq[opened] = pricer.liquidation(
        *position_of(opened),
        np.full(opened.size, start_price),
    )
    refresh(opened)
    d0[opened] = np.maximum(side[opened] * (entry[opened] - reach[opened]) / entry[opened], 1e-9)
    seen[opened] = distance_at(opened, start_price)
    # a held position the market already took before the first hour would have been gone:
    # the agent starts flat with what an isolated liquidation leaves (the rest of its funds)
    gone = opened[seen[opened] < a.start_buffer]
    is_open[gone] = False
    refresh(np.flatnonzero(~is_open))

    # --- truth --------------------------------------------------------------------------
    counts = {
        k: np.zeros(n_days, dtype=np.int64)
        for k in (
            "within_5",
            "within_10",
            "liquidated",
            "stopped",
            "added_margin",
            "averaged",
            "opened",
            "closed",
            "left",
            "holding",
            "funding_known",
        )
    }
    long_share = np.zeros(n_days)
    by_reason = np.zeros((n_days, len(REASONS)), dtype=np.int64)
    nearest = np.ones(n, dtype=_HOT)  # each agent's least distance to liquidation in the day so far
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("agent", "hour", "template", "reason", "side", "leverage", "notional")
    }

    rhythm_table = np.empty((27, 24))
    off_index = np.zeros(n, dtype=np.int64)
    current_day = -1
    for step, h in enumerate(hours):
        day = int(day_of[h])
        utc_hour = int((path.time_ms[h] // 3_600_000) % 24)
        if day != current_day:
            current_day = day
            rhythm_table = local_rhythm(days[day]).astype(_HOT)
            off_index = np.clip(offsets[:, day], -12, 14) + 12
            nearest[:] = 1.0
        price, low, high = float(path.price[h]), float(path.low[h]), float(path.high[h])
        ret_24 = price / float(path.price[h - 24]) - 1.0
        ret_7d = price / float(path.price[max(h - 168, 0)]) - 1.0
        dirty: list[np.ndarray] = []  # positions to reprice after the hour
        touched: list[np.ndarray] = []  # rows whose trigger changed

        # 1. funding
        held = np.flatnonzero(is_open)  # only open positions move, are hit, or need repricing
        if path.funding_mark[h]:
            rate = float(path.funding[h])
            if not np.isnan(rate):
                counts["funding_known"][day] += 1
                last_rate = rate
                margin[held] -= side[held] * rate * qty[held] * price
                dirty.append(held)

        # 2. stops, then liquidations: where the hour's low (longs) / high (shorts) reaches
        h_side = side[held]
        extreme = np.where(h_side > 0, _HOT(low), _HOT(high))
        hit = h_side * (extreme - trigger[held]) <= 0
        hits = held[hit]
        stopped = hits[~np.isnan(stop[hits])]
        funds[stopped] += np.maximum(
            margin[stopped] + side[stopped] * (stop[stopped] - entry[stopped]) * qty[stopped], 0.0
        )
        counts["stopped"][day] += stopped.size
        taken = hits[np.isnan(stop[hits])]
        pending[taken] = True
        counts["liquidated"][day] += taken.size
        is_open[hits] = False
        if hits.size:
            refresh(hits)
            held, h_side, extreme = held[~hit], h_side[~hit], extreme[~hit]
        h_reach = reach[held]
        nearest[held] = np.minimum(nearest[held], (extreme - h_reach) * h_side / extreme)

        # 3. state → hazard, evaluated where it can fire (:func:`.hazard.candidates`)
        known = 0.0 if np.isnan(last_rate) else last_rate / 1e-4
        flat = a.flat_rate * (1.0 + a.move_attention * abs(ret_24))
        shock = day_shock[day] * hour_shock[step]
        rhythm_now = rhythm_table[:, utc_hour]
        draw = rng.standard_exponential(n, dtype=np.float32)
        h_distance = (price - h_reach) * (h_side / price)
        x = candidates(
            draw,
            attention,
            pending,
            held,
            (h_side, h_distance, seen[held], d0[held]),
            shock=float(shock),
            top=float(rhythm_now.max()),
            idle=max(flat, a.return_rate),
            known=known,
            a=a,
        )
        x_side = side[x]
        distance = (price - reach[x]) * (x_side / price)
        ratio = distance / d0[x]
        x_seen = seen[x]
        shrink = np.maximum(x_seen - distance, 0.0) / x_seen
        paid = np.where(x_side > 0, max(-known, 0.0), max(known, 0.0))
        x_open = is_open[x]
        routine = np.where(x_open, a.holding_rate, np.where(active[x], flat, a.return_rate))
        urgent = (
            a.shrink_rate / a.shrink_step * shrink
            + a.call_rate * (ratio < a.call_ratio)
            + a.funding_rate * paid * x_open
            + a.liquidated_rate * pending[x]
        )
        rhythm = rhythm_now[off_index[x]]
        hazard = (attention[x] * shock) * (rhythm * routine + (0.5 + 0.5 * rhythm) * urgent)
        at = np.flatnonzero(draw[x] < hazard)
        fire = x[at]
        distance, ratio, shrink, paid = distance[at], ratio[at], shrink[at], paid[at]
        fresh: list[np.ndarray] = []  # positions (re)built: their distance is the new d0

        # 4. the session's reason: the first that holds
        f_open = is_open[fire]
        u = rng.random((fire.size, 4))
        in_loss = side[fire] * (price - entry[fire]) < 0
        conditions = [
            pending[fire],
            f_open & (ratio < a.call_ratio),
            f_open & (shrink >= a.shrink_step),
            f_open & (u[:, 0] < paid / (1.0 + paid) * 0.5),
            f_open & in_loss & (u[:, 1] < a.average_share),
            f_open & np.isnan(stop[fire]) & (u[:, 2] < a.stop_share),
            f_open & (u[:, 3] >= a.close_share),
            f_open,
            np.ones(fire.size, dtype=bool),
        ]
        reason = np.select(conditions, np.arange(len(conditions)))
        template = np.full(fire.size, -1)
        s_side, s_lev = side[fire].copy(), lev[fire].copy()
        s_notional = qty[fire] * price
        pick = rng.random(fire.size)

        def rows_of(name: str, reason=reason, fire=fire) -> tuple[np.ndarray, np.ndarray]:
            k = np.flatnonzero(reason == _R[name])
            return k, fire[k]

        # liquidated: rebuild lower or leave
        k, rows = rows_of("liquidated")
        pending[rows] = False
        rebuild = (pick[k] < a.rebuild) & (funds[rows] >= _MIN_FUNDS)
        template[k] = np.where(rebuild, _T["liquidated/rebuild"], _T["liquidated/leave"])
        gone = rows[~rebuild]
        active[gone] = False
        counts["left"][day] += gone.size
        lev[rows[rebuild]] = np.maximum(1.0, np.round(lev[rows[rebuild]] * a.rebuild_leverage))
        ps, pl, pn = plan(rows[rebuild], price, ret_7d)
        built = open_positions(rows[rebuild], price, ps, pl, pn)
        dirty.append(built)
        fresh.append(built)
        counts["opened"][day] += built.size
        kk = k[rebuild]
        s_side[kk], s_lev[kk], s_notional[kk] = ps, pl, pn

        # margin call: add (U.S. agents more often), cut, or hold
        k, rows = rows_of("margin call")
        target = price * (1.0 - side[rows] * a.restore_ratio * d0[rows])
        need = pricer.margin_to(
            *position_of(rows),
            np.maximum(target, 1.0),
        )
        add = (pick[k] < add_p[rows]) & (need > 0) & (funds[rows] >= need)
        cut = ~add & (rng.random(k.size) < a.cut_at_call)
        margin[rows[add]] += need[add]
        funds[rows[add]] -= need[add]
        dirty.append(rows[add])
        counts["added_margin"][day] += int(add.sum())
        closing = rows[cut]
        funds[closing] += np.maximum(
            margin[closing] + side[closing] * (price - entry[closing]) * qty[closing], 0.0
        )
        is_open[closing] = False
        touched.append(closing)
        counts["closed"][day] += closing.size
        template[k] = np.select(
            [add, cut], [_T["margin call/add"], _T["margin call/cut"]], _T["margin call/hold"]
        )
        seen[rows] = distance[k]

        # distance shrank: look (and sometimes the probability of touching)
        k, rows = rows_of("distance shrank")
        template[k] = np.where(
            pick[k] < 0.3, _T["distance shrank/risk"], _T["distance shrank/look"]
        )
        seen[rows] = distance[k]

        # funding pays the side: add to the position, or just look
        k, rows = rows_of("funding pays")
        grow = (pick[k] < a.funding_add_share) & (funds[rows] >= _MIN_FUNDS)
        template[k] = np.where(grow, _T["funding pays/add"], _T["funding pays/look"])
        # average down: add at the price
        k2, rows2 = rows_of("average down")
        template[k2] = _T["average down/add"]
        can_average = funds[rows2] >= _MIN_FUNDS
        more = np.concatenate([rows[grow], rows2[can_average]])
        low_f, high_f = a.size_fraction
        extra = funds[more] * rng.uniform(low_f, high_f, more.size)
        dq = extra * lev[more] / price
        entry[more] = (entry[more] * qty[more] + price * dq) / (qty[more] + dq)
        qty[more] += dq
        margin[more] += extra
        funds[more] -= extra
        dirty.append(more)
        fresh.append(more)
        counts["averaged"][day] += int(can_average.sum())

        # set stops
        k, rows = rows_of("set stops")
        template[k] = _T["set stops/set"]
        gap = np.minimum(rng.uniform(0.02, 0.06, rows.size), 0.7 * distance[k])
        stop[rows] = price * (1.0 - side[rows] * gap)
        touched.append(rows)

        # close, monitor
        k, rows = rows_of("close")
        template[k] = _T["close/close"]
        funds[rows] += np.maximum(
            margin[rows] + side[rows] * (price - entry[rows]) * qty[rows], 0.0
        )
        is_open[rows] = False
        touched.append(rows)
        counts["closed"][day] += rows.size
        k, rows = rows_of("monitor")
        template[k] = np.where(pick[k] < 0.5, _T["monitor/pnl"], _T["monitor/liquidation"])
        seen[rows] = distance[k]

        # new setup: size and model it, open some
        k, rows = rows_of("new setup")
        active[rows] = True
        ps, pl, pn = plan(rows, price, ret_7d)
        known = 0.0 if np.isnan(last_rate) else abs(last_rate) / 1e-4
        variant = np.select(
            [
                pick[k] < 0.15 * min(known, 3.0) / 3.0,
                pick[k] < 0.35,
                pick[k] < 0.55,
                pick[k] < 0.85,
            ],
            [
                _T["new setup/funding"],
                _T["new setup/plan"],
                _T["new setup/stops"],
                _T["new setup/full"],
            ],
            _T["new setup/quick"],
        )
        template[k] = variant
        go = (rng.random(k.size) < a.open_share) & (variant != _T["new setup/quick"])
        built = open_positions(rows[go], price, ps[go], pl[go], pn[go])
        dirty.append(built)
        fresh.append(built)
        counts["opened"][day] += built.size
        with_stop = np.isin(built, rows[variant == _T["new setup/stops"]])
        s_side[k], s_lev[k], s_notional[k] = ps, pl, pn

        # reprice what changed; a rebuilt position's distance is its new reference
        for rows in dirty:
            changed[rows] = True
        rows = np.flatnonzero(changed)
        changed[rows] = False
        rows = rows[is_open[rows]]
        if rows.size:
            liq[rows] = pricer.liquidation(
                *position_of(rows),
                np.full(rows.size, price),
            )
            refresh(rows)
        renew = np.concatenate(fresh) if fresh else np.zeros(0, dtype=np.int64)
        renew = renew[is_open[renew]]
        d0[renew] = seen[renew] = distance_at(renew, price)
        stopping = built[with_stop]
        stop[stopping] = price * (1.0 - side[stopping] * np.minimum(0.04, 0.7 * d0[stopping]))
        if touched:
            refresh(np.concatenate([*touched, stopping]))
        by_reason[day] += np.bincount(reason, minlength=len(REASONS))
        if h >= path.first:  # the burn-in week leaves no sessions
            for key, value in (
                ("agent", fire),
                ("hour", np.full(fire.size, h)),
                ("template", template),
                ("reason", reason),
                ("side", s_side),
                ("leverage", s_lev),
                ("notional", s_notional),
            ):
                out[key].append(value)

        if step % 24 == 23 or step == len(hours) - 1:
            counts["within_5"][day] = int((nearest < _NEAR[0]).sum())
            counts["within_10"][day] = int((nearest < _NEAR[1]).sum())
            counts["holding"][day] = int(is_open.sum())
            longs = int((is_open & (side > 0)).sum())
            long_share[day] = longs / max(int(is_open.sum()), 1)

    sessions = Sessions(**{k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()})
    truth = Truth(
        days=days[burn:],
        long_share=long_share[burn:],
        sessions=by_reason[burn:],
        **{k: v[burn:] for k, v in counts.items()},
    )
    return sessions, truth
