"""What the request path hands to telemetry: headers, client address, page-sent hints.

The web layer builds a :class:`RequestMeta` from its request object; nothing in here is
stored. The raw IP and User-Agent live only as long as the pipeline call that reads them.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["CLIENT_HINTS", "LowerCaseHeaders", "RequestMeta", "header_value",
           "resolve_client_ip"]


class LowerCaseHeaders(dict):
    """Request headers whose names are all lower case, as ASGI servers hand them over:
    :func:`header_value` looks a name up once instead of scanning for other cases (absent
    headers, the Client Hints of most requests, would otherwise cost a scan each)."""


@dataclass(slots=True)
class RequestMeta:
    """The request facts the anonymizer reads (built per recorded request: not frozen, as a
    frozen dataclass sets each field through ``object.__setattr__``, three times the cost).

    Attributes
    ----------
    headers : mapping
        Request headers (any case): ``User-Agent``, ``Sec-CH-UA-*``, the country header.
    client_ip : str, optional
        The socket peer address; a trusted ``MARGINSCOPE_CLIENT_IP_HEADER`` overrides it.
    time_zone : str, optional
        IANA time zone the page sent (``Intl.DateTimeFormat().resolvedOptions().timeZone``).
    session : str, optional
        A per-tab random token the page sent (``sessionStorage``); stored only as its keyed
        hash under the day's salt.
    max_touch_points : int, optional
        ``navigator.maxTouchPoints`` the page sent (tells iPadOS from macOS).
    seq : int or str, optional
        The page's per-tab counter of calculations (0, 1, 2, …; a header's text is read as
        an integer), stored as ``seq`` with the session when within ``0 … SEQ_MAX``.
    ts : datetime, optional
        When the calculation ran (aware); defaults to the pipeline's clock.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    client_ip: str | None = None
    time_zone: str | None = None
    session: str | None = None
    max_touch_points: int | None = None
    ts: datetime | None = None
    seq: int | str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RequestMeta:
        """Build from a request-ish dict with the attribute names as keys (others ignored)."""
        return cls(**{key: data[key] for key in cls.__slots__ if key in data})


CLIENT_HINTS = b"sec-ch-"
"""Name prefix of the User-Agent Client Hints (``Sec-CH-UA-*``), in ASGI's lower case."""


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in any letter case, stripped; None when absent."""
    if type(headers) is LowerCaseHeaders:
        value = headers.get(name.lower())
        return value.strip() if isinstance(value, str) else None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = headers.get(lowered)
        if value is None:
            for key, candidate in headers.items():
                if key.lower() == lowered:
                    value = candidate
                    break
    return value.strip() if isinstance(value, str) else None


def _valid_ip(text: str) -> str | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:443"
        text = text.split(":", 1)[0]
    for family in (socket.AF_INET, socket.AF_INET6):  # C parsers; the canonical text back
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, text))
        except OSError:
            continue
    return None


def resolve_client_ip(headers: Mapping[str, str], peer_ip: str | None,
                      header: str | None) -> str | None:
    """The client address: leftmost valid address in the trusted ``header``, else the peer.

    ``header`` is ``MARGINSCOPE_CLIENT_IP_HEADER`` (``X-Forwarded-For``, ``CF-Connecting-IP``,
    ``X-Real-IP``); set it only behind a proxy that overwrites that header.
    """
    if header:
        value = header_value(headers, header)
        if value:
            for part in value.split(","):
                ip = _valid_ip(part)
                if ip:
                    return ip
    return _valid_ip(peer_ip) if peer_ip else None
