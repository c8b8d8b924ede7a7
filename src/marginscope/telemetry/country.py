"""The visitor's country (ISO 3166-1 alpha-2, ``ZZ`` when unknown) from the configured sources.

Sources, tried in this order; the first that yields an ISO code wins (docs/telemetry.md,
"Country"):

1. a trusted proxy header named by ``MARGINSCOPE_COUNTRY_HEADER`` (``CF-IPCountry``,
   ``CloudFront-Viewer-Country``, ``X-Vercel-IP-Country``…): honoured only when that setting
   is set, since any client can send the header to a server that is not behind the proxy;
2. a MaxMind-format country or city database (``MARGINSCOPE_GEOIP_DB``: GeoLite2, DB-IP Lite),
   read with the ``maxminddb`` reader, when one is configured;
3. the browser's IANA time zone (``Intl.DateTimeFormat().resolvedOptions().timeZone``) sent by
   the page, mapped through the tz database's ``zone.tab`` (from the ``tzdata`` package),
   following ``tzdata.zi`` links for old names such as ``Asia/Calcutta``.

Pseudo-codes (``XX`` unknown, ``T1`` Tor, ``A1``/``A2`` anonymizers, ``EU``/``AP``) are not
countries and fall through to the next source. Only the code is kept; the IP is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from os import PathLike
from typing import Any, Protocol

from marginscope.errors import InputError
from marginscope.telemetry.request import header_value
from marginscope.telemetry.schema import UNKNOWN_COUNTRY, country_codes

__all__ = [
    "CountryResolver", "GeoIPCountry", "country_from_code", "country_from_time_zone",
    "country_zones",
]


class _Reader(Protocol):
    def get(self, ip_address: str) -> Any: ...


def country_from_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code from a header value, or None (``ZZ``, ``XX``, ``T1``…)."""
    if not value:
        return None
    code = value.strip().upper()
    if code == UNKNOWN_COUNTRY or code not in country_codes():
        return None
    return code


@lru_cache(maxsize=1)
def _zone_table() -> tuple[dict[str, str], dict[str, str]]:
    """(zone → country from zone.tab, link → target from tzdata.zi) of the tzdata package."""
    base = resources.files("tzdata.zoneinfo")
    zones: dict[str, str] = {}
    for line in base.joinpath("zone.tab").read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            zones.setdefault(parts[2], parts[0])
    links: dict[str, str] = {}
    for line in base.joinpath("tzdata.zi").read_text("utf-8").splitlines():
        if line.startswith("L "):
            _, target, link = line.split()
            links[link] = target
    return zones, links


def country_zones() -> dict[str, tuple[str, ...]]:
    """Each country's time zones in the tz database's ``zone.tab`` (ISO code → zone names);
    a country with one zone there has one local time (the analytics' local-hour profiles)."""
    out: dict[str, list[str]] = {}
    for zone, country in _zone_table()[0].items():
        out.setdefault(country, []).append(zone)
    return {country: tuple(zones) for country, zones in out.items()}


def country_from_time_zone(time_zone: str | None) -> str | None:
    """Country of an IANA time zone per the tz database's ``zone.tab``, or None.

    Parameters
    ----------
    time_zone : str or None
        IANA name as the browser reports it (``Europe/Berlin``, ``Asia/Calcutta``).

    Returns
    -------
    str or None
        The ISO code of the zone's row in ``zone.tab`` (one country per zone there, unlike
        ``zone1970.tab``); links in ``tzdata.zi`` are followed for names not in the table;
        zones of no country (``UTC``, ``Etc/GMT+3``) give None.
    """
    if not time_zone or len(time_zone) > 64:
        return None
    zones, links = _zone_table()
    name = time_zone.strip()
    for _ in range(4):  # links never chain deeper in tzdata; bound it anyway
        if name in zones:
            return country_from_code(zones[name])
        if name not in links:
            return None
        name = links[name]
    return None


class GeoIPCountry:
    """Country lookups in a MaxMind-format database (GeoLite2/GeoIP2 Country or City, DB-IP).

    Parameters
    ----------
    path : path-like
        The ``.mmdb`` file. Opened once with ``maxminddb`` (an optional dependency:
        ``pip install maxminddb``), memory-mapped.
    reader : object, optional
        Anything with ``get(ip) -> record`` in place of opening ``path`` (tests).
    """

    def __init__(self, path: str | PathLike[str] | None = None, *, reader: _Reader | None = None):
        if reader is None:
            if path is None:
                raise InputError("MARGINSCOPE_GEOIP_DB", path, "a MaxMind-format .mmdb file")
            try:
                import maxminddb
            except ImportError:  # pragma: no cover - depends on the environment
                raise InputError("MARGINSCOPE_GEOIP_DB", str(path), "a readable .mmdb file",
                                 "the maxminddb package is needed: pip install maxminddb"
                                 ) from None
            try:
                reader = maxminddb.open_database(str(path))
            except Exception as exc:  # maxminddb.InvalidDatabaseError, OSError, ValueError
                raise InputError("MARGINSCOPE_GEOIP_DB", str(path),
                                 "a readable MaxMind-format .mmdb file", str(exc)) from None
        self._reader = reader

    def lookup(self, ip: str | None) -> str | None:
        """ISO code of ``ip`` (``country``, else ``registered_country``), or None."""
        if not ip:
            return None
        try:
            record = self._reader.get(ip)
        except ValueError:
            return None
        if not isinstance(record, Mapping):
            return None
        for key in ("country", "registered_country"):
            entry = record.get(key)
            if isinstance(entry, Mapping):
                code = country_from_code(entry.get("iso_code"))
                if code:
                    return code
        return None

    def close(self) -> None:
        """Close the underlying reader, if it can be closed."""
        close = getattr(self._reader, "close", None)
        if callable(close):
            close()


class CountryResolver:
    """The configured country sources, in order (see module docstring).

    Parameters
    ----------
    header : str, optional
        Name of the trusted proxy header (``MARGINSCOPE_COUNTRY_HEADER``); None: not read.
    geoip : GeoIPCountry, optional
        A GeoIP reader (``MARGINSCOPE_GEOIP_DB``); None: not used.
    """

    def __init__(self, header: str | None = None, geoip: GeoIPCountry | None = None):
        self.header = header
        self.geoip = geoip

    def resolve(self, headers: Mapping[str, str], client_ip: str | None,
                time_zone: str | None) -> str:
        """ISO code from the first source that knows, else ``ZZ``."""
        return self.locate(headers, client_ip, time_zone)[0]

    def locate(self, headers: Mapping[str, str], client_ip: str | None,
               time_zone: str | None) -> tuple[str, str | None]:
        """``(code, source)``: the ISO code from the first source that knows and which one it
        was (one of :data:`~marginscope.telemetry.schema.COUNTRY_SOURCES`), else
        ``("ZZ", None)``. ``time_zone`` is the client's own word: any client can send any
        zone, so it is the lowest-trust source and stored as such."""
        if self.header:
            code = country_from_code(header_value(headers, self.header))
            if code:
                return code, "header"
        if self.geoip is not None and client_ip:
            code = self.geoip.lookup(client_ip)
            if code:
                return code, "geoip"
        code = country_from_time_zone(time_zone)
        return (code, "time_zone") if code else (UNKNOWN_COUNTRY, None)

