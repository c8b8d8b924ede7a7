"""Shared fixtures for the telemetry tests: an injectable clock, SYNTHETIC events, and a tiny
MaxMind-format database written here (synthetic networks → countries; no third-party data).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from marginscope.telemetry.schema import Event


class Clock:
    """A settable UTC clock for salts and pipelines."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 11, 4, 10, 30, tzinfo=UTC))


SYNTHETIC_ROWS: list[dict[str, Any]] = [
    # SYNTHETIC canonical events (hand-written test data, ids start with "synthetic-").
    {"event_id": "synthetic-1", "ts": "2025-11-04T09:15:00Z", "tool": "liquidation_price",
     "device": "mobile", "country": "US", "visitor": "a1b2c3d4e5f60718", "session": None,
     "venue": "binance-usdm", "symbol": "BTC", "side": "long", "margin_mode": "isolated",
     "leverage": 20, "notional_bucket": 3000,
     "country_source": "header", "seq": None},
    {"event_id": "synthetic-2", "ts": "2025-11-04T09:16:30.250000Z", "tool": "margin_call",
     "device": "desktop", "country": "DE", "visitor": None, "session": "s1",
     "venue": "bybit", "symbol": "ETH", "side": "short", "margin_mode": "cross",
     "leverage": 5, "notional_bucket": 10000,
     "country_source": "time_zone", "seq": 3},
    {"event_id": "synthetic-3", "ts": "2025-11-05T23:59:59Z", "tool": "funding_rate",
     "device": "tablet", "country": "ZZ", "visitor": None, "session": None,
     "venue": None, "symbol": None, "side": None, "margin_mode": None,
     "leverage": None, "notional_bucket": None,
     "country_source": None, "seq": None},
    {"event_id": "synthetic-4", "ts": "2025-11-06T00:00:00Z", "tool": "scenario",
     "device": "unknown", "country": "JP", "visitor": "ffff0000ffff0000", "session": None,
     "venue": "other", "symbol": "OTHER", "side": "long", "margin_mode": "isolated",
     "leverage": 125, "notional_bucket": 0,
     "country_source": "geoip", "seq": None},
]


@pytest.fixture
def synthetic_rows() -> list[dict[str, Any]]:
    return [dict(row) for row in SYNTHETIC_ROWS]


def make_event(index: int = 0, **changes: Any) -> Event:
    """A SYNTHETIC event built from :data:`SYNTHETIC_ROWS` with ``changes``."""
    row = dict(SYNTHETIC_ROWS[index])
    row["ts"] = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
    row.update(changes)
    return Event(**row)


@pytest.fixture
def event_factory() -> Callable[..., Event]:
    return make_event


def _pipe_empty(writer: Any) -> bool:
    """A :class:`~marginscope.telemetry.handoff.HandoffWriter`'s pipe holds no byte (its sink
    process has read every frame)."""
    import fcntl
    import termios

    waiting = fcntl.ioctl(writer._read_end, termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", waiting)[0] == 0


@pytest.fixture
def pipe_empty() -> Callable[[Any], bool]:
    return _pipe_empty


# --- a minimal MaxMind DB writer (format: https://maxmind.github.io/MaxMind-DB/) --------------


def _control(type_number: int, size: int) -> bytes:
    if size < 29:
        size_bits, extra = size, b""
    elif size < 285:
        size_bits, extra = 29, bytes([size - 29])
    else:
        size_bits, extra = 30, struct.pack(">H", size - 285)
    if type_number <= 7:
        return bytes([(type_number << 5) | size_bits]) + extra
    return bytes([size_bits, type_number - 7]) + extra


def _encode(value: Any) -> bytes:
    if isinstance(value, str):
        data = value.encode()
        return _control(2, len(data)) + data
    if isinstance(value, dict):
        out = _control(7, len(value))
        for key, item in value.items():
            out += _encode(str(key)) + _encode(item)
        return out
    if isinstance(value, list):
        out = _control(11, len(value))
        for item in value:
            out += _encode(item)
        return out
    if isinstance(value, tuple):  # (type_number, int): uint16=5, uint32=6, uint64=9
        type_number, number = value
        data = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
        return _control(type_number, len(data)) + data
    raise TypeError(value)


def write_country_mmdb(path: Path, networks: dict[str, str]) -> Path:
    """Write an IPv4 Country database mapping ``"a.b.c.d/len"`` → ISO code (SYNTHETIC)."""
    nodes: list[list[Any]] = [[None, None]]
    data = b""
    offsets: dict[str, int] = {}
    for network, code in networks.items():
        address, length = network.split("/")
        bits = int.from_bytes(bytes(int(p) for p in address.split(".")), "big")
        if code not in offsets:
            offsets[code] = len(data)
            data += _encode({"country": {"iso_code": code, "names": {"en": code}}})
        node = 0
        for depth in range(int(length)):
            bit = (bits >> (31 - depth)) & 1
            if depth == int(length) - 1:
                nodes[node][bit] = ("data", offsets[code])
            else:
                if not isinstance(nodes[node][bit], int):
                    nodes.append([None, None])
                    nodes[node][bit] = len(nodes) - 1
                node = nodes[node][bit]
    count = len(nodes)

    def record(entry: Any) -> int:
        if entry is None:
            return count
        if isinstance(entry, int):
            return entry
        return count + 16 + entry[1]

    tree = b"".join(record(left).to_bytes(3, "big") + record(right).to_bytes(3, "big")
                    for left, right in nodes)
    metadata = {
        "node_count": (6, count), "record_size": (5, 24), "ip_version": (5, 4),
        "database_type": "Synthetic-Country-Test", "languages": ["en"],
        "binary_format_major_version": (5, 2), "binary_format_minor_version": (5, 0),
        "build_epoch": (9, 1_700_000_000), "description": {"en": "SYNTHETIC test networks"},
    }
    path.write_bytes(tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + _encode(metadata))
    return path


@pytest.fixture
def country_mmdb(tmp_path: Path) -> Path:
    """SYNTHETIC: 81.2.69.0/24 → GB, 89.160.20.0/24 → SE, 216.160.83.0/24 → US."""
    pytest.importorskip("maxminddb")  # the optional GeoIP reader
    return write_country_mmdb(tmp_path / "synthetic-country.mmdb", {
        "81.2.69.0/24": "GB", "89.160.20.0/24": "SE", "216.160.83.0/24": "US"})
