"""``request_meta`` reads the ASGI scope's raw header pairs: the same headers, client address
and page hints as reading them through Starlette's ``Headers`` view."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from marginscope.telemetry.country import CountryResolver
from marginscope.telemetry.pipeline import Drop, Pipeline
from marginscope.telemetry.salt import SaltStore
from marginscope.web.recording import read_headers, request_meta

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


_PIPELINE_NAMES = st.sampled_from(
    [
        b"user-agent",
        b"sec-ch-ua-mobile",
        b"sec-ch-ua-platform",
        b"sec-ch-ua-form-factors",
        b"x-forwarded-for",
        b"cf-ipcountry",
        b"x-marginscope-time-zone",
        b"x-marginscope-session",
        b"x-marginscope-touch-points",
        b"x-marginscope-seq",
        b"accept",
        b"cookie",
    ]
)
_PIPELINE_VALUES = st.sampled_from(
    [
        b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1",
        b"Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36",
        b"Googlebot/2.1",
        b"?1",
        b'"Android"',
        b'"Tablet"',
        b"198.51.100.7, 10.0.0.1",
        b"DE",
        b"Europe/Berlin",
        b"5",
        b"12",
        b"tab-1",
    ]
)
_STATE = tempfile.mkdtemp(prefix="marginscope-request-meta-")


@settings(deadline=None)  # each example opens a salt store (fsyncs): slow on a busy disk
@given(
    pairs=st.lists(st.tuples(_PIPELINE_NAMES, _PIPELINE_VALUES), max_size=12),
    client=st.one_of(st.none(), st.sampled_from([("203.0.113.7", 443), ("::1", 1)])),
)
def test_the_recorders_header_subset_gives_the_event_all_headers_give(pairs, client):
    """``request_meta(names=read_headers(…))`` decodes only the headers the pipeline reads
    (and the Client Hints): the event is the one every header gives."""
    clock = lambda: datetime(2025, 11, 4, 10, 30, tzinfo=UTC)  # noqa: E731
    pipeline = Pipeline(
        SaltStore(Path(_STATE), clock=clock),
        site="synthetic-site",
        country=CountryResolver(header="CF-IPCountry"),
        client_ip_header="X-Forwarded-For",
        clock=clock,
    )
    names = read_headers(SimpleNamespace(pipeline=pipeline))
    request = Request({"type": "http", "headers": pairs, "client": client})
    subset = request_meta(request, names=names)
    assert set(subset.headers) <= {name.decode() for name in names} | {
        name.decode() for name, _ in pairs if name.startswith(b"sec-ch-")
    }
    everything = request_meta(request)
    assert (subset.time_zone, subset.session, subset.max_touch_points, subset.seq) == (
        everything.time_zone,
        everything.session,
        everything.max_touch_points,
        everything.seq,
    )
    old, new = pipeline.process(everything, "stops"), pipeline.process(subset, "stops")
    if isinstance(old, Drop):
        assert new == old
    else:
        assert new.model_dump(exclude={"event_id"}) == old.model_dump(exclude={"event_id"})


@given(
    st.lists(st.tuples(st.sampled_from([b"content-type", b"accept", b"host"]), _VALUES), max_size=6)
)
def test_the_calculators_content_type_is_starlettes(pairs):
    from marginscope.web.api import _content_type

    request = Request({"type": "http", "headers": pairs})
    assert _content_type(pairs) == request.headers.get("content-type")


@given(st.lists(st.binary(max_size=20), min_size=1, max_size=5))
def test_the_calculators_body_is_what_request_body_reads(chunks):
    import asyncio

    from marginscope.web.api import _body

    def receiver():
        messages = [
            {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks[:-1]
        ]
        messages.append({"type": "http.request", "body": chunks[-1]})
        messages.reverse()

        async def receive():
            return messages.pop()

        return receive

    async def both():
        return (
            await _body(receiver()),
            await Request({"type": "http", "headers": []}, receiver()).body(),
        )

    ours, starlettes = asyncio.run(both())
    assert ours == starlettes == b"".join(chunks)


def test_a_disconnect_while_the_body_arrives_is_starlettes_client_disconnect():
    import asyncio

    import pytest
    from starlette.requests import ClientDisconnect

    from marginscope.web.api import _body

    messages = [
        {"type": "http.disconnect"},
        {"type": "http.request", "body": b"{", "more_body": True},
    ]

    async def receive():
        return messages.pop()

    with pytest.raises(ClientDisconnect):
        asyncio.run(_body(receive))
