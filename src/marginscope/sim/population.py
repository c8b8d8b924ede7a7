"""The simulated traders: countries, time zones, devices and per-trader habits.

Everything here is a **modelling assumption**, stated as such; none of it is measured usage.

Countries
---------
The list is the tz database's ``iso3166.tab`` (shipped in the ``tzdata`` package), minus the
uninhabited territories in :data:`UNINHABITED`: 241 ISO 3166-1 alpha-2 codes. Weights
(:func:`country_weights`) are built in two parts:

* a **head** of 40 markets with hand-set shares (:data:`HEAD_SHARES`, 88.3 % in all). They are
  assumptions shaped after the *ordering* seen in public rankings of crypto-derivatives web
  traffic and retail crypto adoption (the U.S. first, then large European, Asian, Latin-American
  and African retail markets); the numbers themselves are not taken from any source;
* a **tail**: the other codes share the remaining 11.7 % through a log-normal draw (σ = 1) with
  the fixed seed :data:`TAIL_SEED`, so the tail is the same for every simulation seed. This too
  is an assumption: it only makes the small markets unequal, as they are in real traffic;
* **no weight** for the micro-territories in :data:`MICRO` (under about 100,000 inhabitants:
  too few leveraged traders to register in a month's sample — an assumption), so 202 codes
  carry weight.

Time zones
----------
Each trader lives in one zone of ``zone.tab`` for their country (drawn uniformly among the
country's zones, an assumption); the UTC offset on each simulated day comes from ``zoneinfo``,
so daylight-saving changes (e.g. the U.S. on 2 Nov 2025) move the local evening.

Devices
-------
The base mix :data:`DEVICE_BASE` (mobile 55 %, desktop 38 %, tablet 5 %, unknown 2 %) is an
assumption; the phases of :mod:`.behaviour` move it (mobile up in the panic, desktop up in the
planning afterwards). Each trader also has a device *affinity* (:attr:`Population.mobile_tilt`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np

from marginscope.errors import InputError
from marginscope.sim.mix import venue_shares

__all__ = [
    "DEVICES",
    "DEVICE_BASE",
    "HEAD_SHARES",
    "LEVERAGE_CHOICES",
    "MICRO",
    "SYMBOL_SHARES",
    "TAIL_SEED",
    "UNINHABITED",
    "VENUE_SHARES",
    "Population",
    "country_names",
    "country_weights",
    "make_population",
    "utc_offsets",
]

DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet", "unknown")
DEVICE_BASE: tuple[float, ...] = (0.55, 0.38, 0.05, 0.02)
"""Base device mix (assumption), in :data:`DEVICES` order."""

UNINHABITED: frozenset[str] = frozenset({"AQ", "BV", "GS", "HM", "IO", "PN", "TF", "UM"})
"""``iso3166.tab`` codes without a resident population to speak of; not simulated."""

HEAD_SHARES: dict[str, float] = {
    "US": 0.180, "GB": 0.055, "DE": 0.045, "IN": 0.045, "TR": 0.040, "BR": 0.035,
    "NG": 0.030, "VN": 0.030, "KR": 0.028, "JP": 0.025, "PH": 0.025, "ID": 0.025,
    "FR": 0.022, "CA": 0.022, "AU": 0.018, "ES": 0.017, "IT": 0.017, "RU": 0.016,
    "UA": 0.015, "AR": 0.014, "MX": 0.014, "NL": 0.013, "PL": 0.013, "TH": 0.012,
    "MY": 0.011, "SG": 0.011, "AE": 0.010, "ZA": 0.010, "PK": 0.010, "CO": 0.009,
    "EG": 0.008, "CH": 0.008, "SE": 0.007, "KE": 0.007, "HK": 0.007, "TW": 0.007,
    "PT": 0.006, "RO": 0.006, "CZ": 0.005, "IL": 0.005,
}
"""Head markets' shares of all checks (assumption; see the module docstring)."""

MICRO: frozenset[str] = frozenset({
    "AD", "AI", "AS", "AX", "BL", "BQ", "CC", "CK", "CX", "DM", "FK", "FO", "GG", "GI", "GL",
    "IM", "KN", "KY", "LI", "MC", "MF", "MH", "MP", "MS", "NF", "NR", "NU", "PM", "PW", "SH",
    "SJ", "SM", "SX", "TC", "TK", "TV", "VA", "VG", "WF"})
"""Inhabited codes of under about 100,000 people (approximate public census orders of
magnitude): given no weight (assumption; see the module docstring)."""

TAIL_SEED = 20251101
"""Seed of the tail's log-normal draw (fixed: the country mix does not change with the seed)."""

VENUE_SHARES: dict[str, float] = venue_shares("agents")
"""Traders per risk venue (assumption, ``data/venue_shares.json``)."""
SYMBOL_SHARES: dict[str, float] = {"BTC": 0.55, "ETH": 0.2, "SOL": 0.08, "XRP": 0.05,
                                   "DOGE": 0.04, "BNB": 0.03, "HYPE": 0.02, "SUI": 0.02,
                                   "OTHER": 0.01}
LEVERAGE_CHOICES: dict[int, float] = {1: 0.03, 2: 0.06, 3: 0.08, 5: 0.15, 10: 0.24, 20: 0.17,
                                      25: 0.08, 50: 0.1, 75: 0.03, 100: 0.05, 125: 0.01}
"""A trader's usual leverage (bucket edges of the telemetry schema), assumption."""


def _tab(name: str) -> list[list[str]]:
    text = resources.files("tzdata.zoneinfo").joinpath(name).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def country_names() -> dict[str, str]:
    """Code → name of every inhabited country/territory in ``iso3166.tab``."""
    return {row[0]: row[1] for row in _tab("iso3166.tab") if row[0] not in UNINHABITED}


@cache
def country_weights() -> dict[str, float]:
    """Simulated share of checks per weighted country (sums to 1; the U.S. largest; the
    :data:`MICRO` territories absent). Assumptions."""
    names = country_names()
    missing = sorted(set(HEAD_SHARES) - set(names))
    if missing:
        raise InputError("HEAD_SHARES", missing, "codes listed in tzdata's iso3166.tab")
    tail = [code for code in names if code not in HEAD_SHARES and code not in MICRO]
    draw = np.random.default_rng(TAIL_SEED).lognormal(0.0, 1.0, len(tail))
    rest = 1.0 - sum(HEAD_SHARES.values())
    weights = dict(HEAD_SHARES)
    weights.update({code: float(w) for code, w in zip(tail, rest * draw / draw.sum(),
                                                        strict=True)})
    top = max(weights.values())
    if weights["US"] != top:  # the tail never outweighs the head; keep the promise explicit
        raise AssertionError("the U.S. must be the largest market")
    return dict(sorted(weights.items(), key=lambda item: -item[1]))


@cache
def _zones() -> dict[str, tuple[str, ...]]:
    zones: dict[str, list[str]] = {}
    for row in _tab("zone.tab"):
        zones.setdefault(row[0], []).append(row[2])
    return {code: tuple(z) for code, z in zones.items()}


def utc_offsets(zones: tuple[str, ...], days: np.ndarray) -> np.ndarray:
    """Whole-hour UTC offsets, shape (zone, day), at each day's 12:00 UTC (rounded down).

    Half-hour zones (India +5:30) use the hour below; the diurnal curve is hourly anyway.
    """
    out = np.zeros((len(zones), len(days)), dtype=np.int64)
    noons = [datetime.fromisoformat(str(day)) + timedelta(hours=12) for day in days]
    for i, name in enumerate(zones):
        zone = ZoneInfo(name)
        for j, noon in enumerate(noons):
            offset = zone.utcoffset(noon.replace(tzinfo=zone))
            out[i, j] = math.floor(offset.total_seconds() / 3600) if offset else 0
    return out


@dataclass(frozen=True, eq=False)
class Population:
    """The simulated traders, one row per trader (all arrays have the same length).

    Attributes
    ----------
    countries : tuple of str
        The country axis; ``country`` indexes it.
    zones : tuple of str
        The time-zone axis (``zone.tab`` names, ``UTC`` for a country without one).
    activity : numpy.ndarray of float64
        Attention: relative propensity to look (gamma, mean 1, shape ``attention_shape``).
    mobile_tilt : numpy.ndarray of float64
        Log-odds shift of this trader's sessions toward mobile (normal, sd 1).
    venue, symbol : numpy.ndarray of int64
        Indexes into :data:`VENUE_SHARES` / :data:`SYMBOL_SHARES` keys: the usual venue and coin.
    leverage : numpy.ndarray of int64
        Usual leverage (a bucket edge).
    wallet : numpy.ndarray of float64
        Funds the trader trades with, USD (log-normal, ``wallet_median``, ``wallet_sigma``).
    long_tilt : numpy.ndarray of float64
        The trader's own log-odds shift toward longs (normal, sd 0.8); the market moves the
        rest (:class:`marginscope.sim.behaviour.Assumptions`).
    cross : numpy.ndarray of bool
        Trades in cross margin.
    """

    countries: tuple[str, ...]
    zones: tuple[str, ...]
    country: np.ndarray
    zone: np.ndarray
    activity: np.ndarray
    mobile_tilt: np.ndarray
    venue: np.ndarray
    symbol: np.ndarray
    leverage: np.ndarray
    wallet: np.ndarray
    long_tilt: np.ndarray
    cross: np.ndarray

    def __len__(self) -> int:
        return len(self.country)

    def country_counts(self) -> np.ndarray:
        """Traders per country (aligned with :attr:`countries`)."""
        return np.bincount(self.country, minlength=len(self.countries))


def make_population(size: int, rng: np.random.Generator, *, wallet_median: float = 1500.0,
                    wallet_sigma: float = 1.2, attention_shape: float = 0.6) -> Population:
    """``size`` traders with countries drawn from :func:`country_weights` and their habits.

    Every country gets at least one trader, so every code can appear in the events.
    """
    weights = country_weights()
    countries = tuple(weights)
    if size < len(countries):
        raise InputError("population", size, f">= {len(countries)} (one trader per country)")
    share = np.asarray(list(weights.values()))
    country = np.concatenate([np.arange(len(countries)),
                              rng.choice(len(countries), size - len(countries), p=share)])
    rng.shuffle(country)
    zone_table = _zones()
    zones = tuple(sorted({z for c in countries for z in zone_table.get(c, ("UTC",))}))
    zone_index = {z: i for i, z in enumerate(zones)}
    choices = [np.asarray([zone_index[z] for z in zone_table.get(c, ("UTC",))])
               for c in countries]
    pick = rng.random(size)
    zone = np.empty(size, dtype=np.int64)
    for c, options in enumerate(choices):
        mine = country == c
        zone[mine] = options[(pick[mine] * len(options)).astype(np.int64)]

    def categorical(table: dict, n: int) -> np.ndarray:
        p = np.asarray(list(table.values()), dtype=float)
        return rng.choice(len(table), n, p=p / p.sum())

    edges = np.asarray(list(LEVERAGE_CHOICES))
    return Population(
        countries=countries, zones=zones, country=country.astype(np.int64), zone=zone,
        activity=rng.gamma(attention_shape, 1 / attention_shape, size),
        mobile_tilt=rng.normal(0.0, 1.0, size),
        venue=categorical(VENUE_SHARES, size), symbol=categorical(SYMBOL_SHARES, size),
        leverage=edges[categorical(LEVERAGE_CHOICES, size)],
        wallet=rng.lognormal(math.log(wallet_median), wallet_sigma, size),
        long_tilt=rng.normal(0.0, 0.8, size), cross=rng.random(size) < 0.45)
