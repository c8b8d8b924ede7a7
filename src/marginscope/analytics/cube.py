"""The daily cube: zero-filled checks per UTC day × tool × device × country, and reach.

What :func:`marginscope.analytics.aggregate.aggregate` returns and every statistic reads.
Segments (``all``, ``device:<device>``, ``region:US``, ``region:rest``) are selections of the
cube's axes; region is ``US`` when ``country == 'US'``, else ``rest`` (``ZZ``, unknown,
counts as rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from marginscope.errors import InputError

__all__ = ["REACH_COLUMNS", "REGIONS", "SEGMENTS", "DailyCube", "Reach", "segment_of", "weekday"]

REGIONS: tuple[str, ...] = ("US", "rest")
REACH_COLUMNS: tuple[str, ...] = ("US", "rest", "all")
SEGMENTS: tuple[str, ...] = ("all", "device:mobile", "device:desktop", "region:US", "region:rest")
"""The segments the findings speak about (the JSON contract's ``segment`` values)."""


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6 for ``datetime64[D]`` days (1970-01-01 was a Thursday)."""
    return ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.int64)


def segment_of(segment: str) -> tuple[str | None, str | None]:
    """``(device, region)`` selected by a segment id (None: any)."""
    if segment == "all":
        return None, None
    kind, _, value = segment.partition(":")
    if kind == "device" and value:
        return value, None
    if kind == "region" and value in REGIONS:
        return None, value
    raise InputError("segment", segment, "all | device:<device> | region:US | region:rest")


@dataclass(frozen=True, eq=False)
class Reach:
    """Exact distinct visitors and sessions over days ``[start, end)`` of a cube.

    ``visitors``/``sessions`` have shape (day, 3) for :data:`REACH_COLUMNS` (``US``, ``rest``,
    ``all``); a visitor seen in both regions on a day counts in each region and once in
    ``all``. ``total_visitors``/``total_sessions`` are distinct over the whole period.
    ``multi_day`` counts ids seen on more than one UTC day (0 with daily-salted ids).
    ``sessions`` and ``total_sessions`` are None while uncounted: the report counts them in
    the session order's pass, which runs alongside (:func:`~.aggregate.with_sessions`).
    """

    start: int
    end: int
    visitors: np.ndarray
    sessions: np.ndarray | None
    total_visitors: int
    total_sessions: int | None
    multi_day: int


@dataclass(frozen=True, eq=False)
class DailyCube:
    """Zero-filled daily counts on a consecutive UTC calendar.

    Attributes
    ----------
    days : numpy.ndarray of datetime64[D]
        Consecutive UTC days.
    counts : numpy.ndarray of int64, shape (day, tool, device, country)
        Checks (pre-trade setups) per cell; 0 where none were recorded.
    synthetic : int
        Checks whose event id marks them synthetic (``syn-``), over all the cube's days.
    reach : Reach or None
        Distinct visitors and sessions (None when not aggregated).
    """

    days: np.ndarray
    tools: tuple[str, ...]
    devices: tuple[str, ...]
    countries: tuple[str, ...]
    counts: np.ndarray
    synthetic: int = 0
    reach: Reach | None = None

    @property
    def weekdays(self) -> np.ndarray:
        """Monday = 0 … Sunday = 6 per day."""
        return weekday(self.days)

    def index(self, day: date | str) -> int:
        """Position of a day in :attr:`days`."""
        hits = np.flatnonzero(self.days == np.datetime64(str(day), "D"))
        if hits.size == 0:
            raise InputError("date", str(day), f"a day from {self.days[0]} to {self.days[-1]}")
        return int(hits[0])

    def _masks(self, segment: str) -> tuple[np.ndarray, np.ndarray]:
        device, region = segment_of(segment)
        return self._device_mask(device), self._country_mask(region)

    def _device_mask(self, device: str | None) -> np.ndarray:
        if device is None:
            return np.ones(len(self.devices), dtype=bool)
        return np.asarray([d == device for d in self.devices], dtype=bool)

    def _country_mask(self, region: str | None) -> np.ndarray:
        if region is None:
            return np.ones(len(self.countries), dtype=bool)
        is_us = np.asarray([c == "US" for c in self.countries], dtype=bool)
        return is_us if region == "US" else ~is_us

    def series(self, tool: str | None = None, segment: str = "all") -> np.ndarray:
        """Daily checks of ``tool`` (None: all tools) in ``segment``."""
        devices, countries = self._masks(segment)
        part = self.counts if tool is None else self.counts[:, [self.tools.index(tool)]]
        return part[:, :, devices][:, :, :, countries].sum(axis=(1, 2, 3))

    def tool_matrix(self, segment: str = "all") -> np.ndarray:
        """Daily checks per tool, shape (day, tool)."""
        devices, countries = self._masks(segment)
        return self.counts[:, :, devices][:, :, :, countries].sum(axis=(2, 3))

    def where(
        self, tool: str | None = None, device: str | None = None, region: str | None = None
    ) -> DailyCube:
        """The cube with the cells outside ``tool``, ``device`` and ``region`` set to 0
        (None: any); the axes stay, reach is dropped (it is not per cell)."""
        if region is not None and region not in REGIONS:
            raise InputError("region", region, " | ".join(REGIONS))
        tools = np.asarray([tool is None or t == tool for t in self.tools], dtype=bool)
        keep = (
            tools[:, None, None]
            & self._device_mask(device)[None, :, None]
            & self._country_mask(region)[None, None, :]
        )
        return DailyCube(
            days=self.days,
            tools=self.tools,
            devices=self.devices,
            countries=self.countries,
            counts=self.counts * keep,
            synthetic=self.synthetic,
        )

    def by_country(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Checks per country over days ``[start, end)``, largest first."""
        totals = self.counts[start:end].sum(axis=(0, 1, 2))
        order = np.argsort(-totals, kind="stable")
        return {self.countries[i]: int(totals[i]) for i in order if totals[i] > 0}

    def by_device(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Checks per device class over days ``[start, end)``."""
        totals = self.counts[start:end].sum(axis=(0, 1, 3))
        return {d: int(n) for d, n in zip(self.devices, totals, strict=True)}

    def by_tool(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Checks per tool over days ``[start, end)``."""
        totals = self.counts[start:end].sum(axis=(0, 2, 3))
        return {t: int(n) for t, n in zip(self.tools, totals, strict=True)}
