"""The load driver against a local app: bounded, loopback only, realistic requests."""

from __future__ import annotations

import pytest

from marginscope.errors import InputError
from marginscope.sim.load import USER_AGENTS, build_requests, run_load


@pytest.fixture(scope="module")
def server():
    from marginscope.web import create_app
    from marginscope.web.background import serve_in_background

    with serve_in_background(create_app()) as url:
        yield url


def test_requests_carry_simulated_devices_and_countries():
    requests = build_requests(200, seed=4)
    assert len(requests) == 200
    agents = {ua for uas in USER_AGENTS.values() for ua in uas}
    assert all(h["User-Agent"] in agents and len(h["CF-IPCountry"]) == 2 for _, _, h in requests)
    assert len({path for path, _, _ in requests}) >= 8


def test_drives_the_api_for_a_bounded_count_and_every_answer_is_ok(server):
    result = run_load(server, rate=60, seconds=30, count=90, seed=4)  # bounded by the count
    assert result.sent == 90 == result.ok
    assert result.errors == {} and set(result.status) == {200}
    assert len(result.by_calculator) >= 5


def test_stops_at_the_time_bound_by_itself(server):
    result = run_load(server, rate=40, seconds=1, seed=5)
    assert 0 < result.sent <= 40


def test_only_loopback_urls_are_accepted():
    with pytest.raises(InputError, match="loopback"):
        run_load("http://192.0.2.10:8000", seconds=1)
    with pytest.raises(InputError, match="seconds"):
        run_load("http://127.0.0.1:1", seconds=10_000)
