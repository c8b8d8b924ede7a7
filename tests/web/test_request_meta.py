"""``request_meta`` reads the ASGI scope's raw header pairs: the same headers, client address
and page hints as reading them through Starlette's ``Headers`` view."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from marginscope.web.recording import request_meta

_NAMES = st.sampled_from(
    [
        b"user-agent",
        b"host",
        b"sec-ch-ua-mobile",
        b"x-forwarded-for",
        b"x-marginscope-time-zone",
        b"x-marginscope-session",
        b"x-marginscope-touch-points",
        b"cf-ipcountry",
        b"accept",
    ]
)
_VALUES = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from([b"5", b" 0", b"-1", b"x", b"", b"Europe/Berlin"]),
)


def _by_headers_view(request: Request) -> dict:
    """What request_meta read before: Starlette's decoded view of the headers."""
    headers = dict(request.headers.items())
    try:
        touch = int(headers.get("x-marginscope-touch-points", ""))
    except ValueError:
        touch = None
    return {
        "headers": headers,
        "client_ip": request.client.host if request.client else None,
        "time_zone": headers.get("x-marginscope-time-zone"),
        "session": headers.get("x-marginscope-session"),
        "max_touch_points": touch,
    }


@given(
    pairs=st.lists(st.tuples(_NAMES, _VALUES), max_size=12),
    client=st.one_of(st.none(), st.sampled_from([("203.0.113.7", 443), ("::1", 1)])),
)
def test_request_meta_reads_what_the_headers_view_reads(pairs, client):
    request = Request({"type": "http", "headers": pairs, "client": client})
    meta = request_meta(request)
    expected = _by_headers_view(request)
    assert dict(meta.headers) == expected["headers"]
    assert (meta.client_ip, meta.time_zone, meta.session, meta.max_touch_points) == (
        expected["client_ip"],
        expected["time_zone"],
        expected["session"],
        expected["max_touch_points"],
    )


def test_hints_given_by_the_beacon_take_precedence():
    request = Request(
        {
            "type": "http",
            "headers": [
                (b"x-marginscope-touch-points", b"5"),
                (b"x-marginscope-time-zone", b"UTC"),
            ],
            "client": None,
        }
    )
    meta = request_meta(request, time_zone="Asia/Tokyo", session="abc", max_touch_points=0)
    assert (meta.time_zone, meta.session, meta.max_touch_points) == ("Asia/Tokyo", "abc", 0)
