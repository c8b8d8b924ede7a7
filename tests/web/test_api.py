"""The JSON API: every endpoint, its numbers, and the shape of every error."""

from __future__ import annotations

import copy
import json
import re

import pytest

from marginscope.calculators import REGISTRY
from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE
from marginscope.risk.tiers import load_venue_tables
from marginscope.risk.venues import VENUES
from marginscope.web import create_app
from marginscope.web.settings import WebSettings

# Binance USDⓈ-M FAQ, cross-margin worked example (two positions): published liquidation prices.
PUBLISHED = {"BTCUSDT": 26316.89, "ETHUSDT": 1153.26}


def test_account_answers_binance_published_cross_example(client):
    response = client.post("/api/v1/account", json=BINANCE_CROSS_EXAMPLE)
    assert response.status_code == 200
    prices = {p["symbol"]: p["liquidation_price"] for p in response.json()["positions"]}
    assert prices == pytest.approx(PUBLISHED, abs=0.005)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_calculator_endpoint_gives_the_library_answer_for_its_example(client, name):
    calculator = REGISTRY[name]
    response = client.post(f"/api/v1/{name}", json=calculator.example)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads(json.dumps(calculator.run(calculator.example)))


def test_openapi_documents_every_calculator_with_its_input_model(client):
    spec = client.get("/openapi.json").json()
    for name, calculator in REGISTRY.items():
        operation = spec["paths"][f"/api/v1/{name}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/" + calculator.model.__name__)
        assert {"200", "400", "413", "422"} <= set(operation["responses"])
    for path in ("/api/v1/health", "/api/v1/venues", "/api/v1/calculators",
                 "/api/v1/liquidation/curve"):
        assert path in spec["paths"]


def test_docs_page_is_served_from_our_own_files(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
    assert not re.search(r'(src|href)="(https?:)?//', response.text)  # no CDN
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text):
        assert client.get(asset).status_code == 200


def test_health_and_calculator_list(client):
    assert client.get("/api/v1/health").json()["status"] == "ok"
    listed = client.get("/api/v1/calculators").json()
    assert [c["name"] for c in listed] == list(REGISTRY)
    assert all(c["path"] == f"/api/v1/{c['name']}" for c in listed)


def test_venues_lists_every_venue_with_its_shipped_symbols(client):
    venues = {v["name"]: v for v in client.get("/api/v1/venues").json()}
    assert set(venues) == set(VENUES)
    for name in VENUES:
        assert [s["symbol"] for s in venues[name]["symbols"]] == list(load_venue_tables(name))
    btc = next(s for s in venues["binance-usdm"]["symbols"] if s["symbol"] == "BTCUSDT")
    assert btc["settle"] == "USDT" and btc["max_leverage"] == 125


def test_liquidation_curve_is_the_pnl_of_closing_at_each_price(client):
    body = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": 2.0,
            "entry_price": 90000.0, "leverage": 10}
    curve = client.post("/api/v1/liquidation/curve", json=body).json()
    prices, pnl = curve["exit_price"], curve["pnl"]
    assert len(prices) == len(pnl) == 81
    # linear long: P&L = qty × (exit − entry), independently recomputed
    assert pnl == pytest.approx([2.0 * (p - 90000.0) for p in prices])
    assert prices[0] < curve["liquidation_price"] < 90000.0 < prices[-1]
    single = client.post("/api/v1/liquidation", json=body).json()
    assert curve["liquidation_price"] == pytest.approx(single["liquidation_price"])


# --- errors ---------------------------------------------------------------------------------

def _fields(response) -> list[str]:
    return [item["field"] for item in response.json()["detail"]]


def test_wrong_type_is_422_naming_the_field(client):
    body = {"side": "long", "qty": "lots", "entry_price": 90000.0, "leverage": 10}
    response = client.post("/api/v1/liquidation", json=body)
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["field"] == "qty" and item["loc"] == ["body", "qty"]
    assert item["value"] == "lots" and item["allowed"]


@pytest.mark.parametrize("raw, field", [
    (b'{"side": "long", "qty": NaN, "entry_price": 90000, "leverage": 10}', "qty"),
    (b'{"side": "long", "qty": 1, "entry_price": Infinity, "leverage": 10}', "entry_price"),
    (b'{"side": "long", "qty": 1e308, "entry_price": 90000, "leverage": 10}', "qty"),
    (b'{"side": "long", "qty": 1, "entry_price": 1e400, "leverage": 10}', "entry_price"),
    (b'{"side": "long", "qty": -1, "entry_price": 90000, "leverage": 10}', "qty"),
])
def test_non_finite_and_out_of_range_numbers_are_422(client, raw, field):
    response = client.post("/api/v1/liquidation", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert field in _fields(response)
    json.loads(response.text)  # the echo of NaN/inf is still strict JSON


def test_empty_position_list_is_422_naming_positions(client):
    body = {**BINANCE_CROSS_EXAMPLE, "positions": []}
    response = client.post("/api/v1/account", json=body)
    assert response.status_code == 422
    assert _fields(response) == ["positions"]


def test_unknown_venue_is_422_listing_the_venues(client):
    body = {**BINANCE_CROSS_EXAMPLE, "venue": "mtgox"}
    response = client.post("/api/v1/account", json=body)
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["field"] == "venue" and "binance-usdm" in item["allowed"]


def test_unknown_field_is_422(client):
    body = {"side": "long", "qty": 1, "entry_price": 90000.0, "leverage": 10, "levrage": 5}
    response = client.post("/api/v1/liquidation", json=body)
    assert response.status_code == 422
    assert "levrage" in _fields(response)


def test_error_raised_by_the_calculation_is_422_with_its_field_path(client):
    body = copy.deepcopy(BINANCE_CROSS_EXAMPLE)
    body["margin_mode"] = "isolated"  # isolated needs margin or leverage per position
    response = client.post("/api/v1/account", json=body)
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["field"] == "positions[0].margin"
    assert item["loc"] == ["body", "positions", 0, "margin"]


def test_a_symbol_without_table_or_overrides_is_422(client):
    body = {"venue": "binance-usdm", "symbol": "NOPEUSDT", "side": "long", "qty": 1,
            "entry_price": 1.0, "leverage": 2}
    response = client.post("/api/v1/liquidation", json=body)
    assert response.status_code == 422
    assert _fields(response) == ["symbol"]


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[" * 20000, b'{"a": [' * 5000])
def test_a_body_that_is_not_json_is_400(client, raw):
    response = client.post("/api/v1/account", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert _fields(response) == ["body"]


@pytest.mark.parametrize("raw", [b"[]", b"42", b'"text"', b"null"])
def test_json_that_is_not_an_object_is_422(client, raw):
    response = client.post("/api/v1/account", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert _fields(response) == ["body"]


def test_a_body_without_json_content_type_is_422(client):
    response = client.post("/api/v1/account", content=json.dumps(BINANCE_CROSS_EXAMPLE),
                           headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert "application/json" in response.json()["detail"][0]["allowed"]


def test_oversized_bodies_are_413_declared_or_chunked(client):
    big = b'{"venue": "' + b"x" * 70_000 + b'"}'
    response = client.post("/api/v1/account", content=big,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert _fields(response) == ["body"]

    def chunks():
        for _ in range(80):
            yield b" " * 1000

    response = client.post("/api/v1/account", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_the_body_limit_comes_from_the_settings():
    from fastapi.testclient import TestClient

    small = TestClient(create_app(WebSettings(max_body_bytes=1024)))
    body = {**BINANCE_CROSS_EXAMPLE, "venue": "x" * 2000}
    assert small.post("/api/v1/account", json=body).status_code == 413
    assert small.post("/api/v1/account", json=BINANCE_CROSS_EXAMPLE).status_code == 200


def test_too_much_monte_carlo_work_is_422_not_a_stalled_server(client):
    body = {**REGISTRY["liquidation-risk"].example, "method": "monte-carlo",
            "paths": 2_000_000, "steps": 100_000}
    response = client.post("/api/v1/liquidation-risk", json=body)
    assert response.status_code == 422
    assert "paths × steps" in response.json()["detail"][0]["msg"]


def test_unknown_path_and_method_are_json_errors(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "path"
    wrong = client.get("/api/v1/account")
    assert wrong.status_code == 405 and wrong.json()["detail"]


# --- telemetry hook -------------------------------------------------------------------------

def test_recorder_is_called_once_per_successful_calculation():
    from fastapi.testclient import TestClient

    calls = []
    app = create_app(recorder=lambda request, calc, body, result: calls.append(
        (request.url.path, calc.tool, type(body).__name__, result)))
    client = TestClient(app)
    client.post("/api/v1/account", json=BINANCE_CROSS_EXAMPLE)
    client.post("/api/v1/account", json={"venue": "nowhere"})
    client.post("/account/result", data={"side": "long"})
    assert len(calls) == 1
    path, tool, model, result = calls[0]
    assert (path, tool, model) == ("/api/v1/account", "liquidation_price", "AccountRequest")
    assert result["positions"][0]["symbol"] == "BTCUSDT"


def test_a_failing_recorder_never_costs_the_answer():
    from fastapi.testclient import TestClient

    def broken(*args):
        raise RuntimeError("sink down")

    client = TestClient(create_app(recorder=broken))
    response = client.post("/api/v1/account", json=BINANCE_CROSS_EXAMPLE)
    assert response.status_code == 200


@pytest.mark.parametrize(("pattern", "moved_after"), [
    ("SS.SS.SS.SS", None),   # slow first calls, never three in a row: stays on the loop
    ("SSS...", 4),           # slow by the wall clock, then three by CPU: the pool from then on
])
def test_only_a_run_of_slow_calls_moves_a_calculator_to_the_thread_pool(monkeypatch, pattern,
                                                                        moved_after):
    from fastapi.testclient import TestClient

    from marginscope.web import api

    readings = []
    clock = 0.0
    for kind in pattern:  # CPU seconds read before and after each inline call
        readings += [clock, clock + (1.0 if kind == "S" else 1e-6)]
        clock += 2.0
    ticks = iter(readings)
    monkeypatch.setattr(api, "thread_time", lambda: next(ticks))
    walls = iter(range(10**6))  # every call slow by the wall clock: CPU time decides
    monkeypatch.setattr(api, "perf_counter", lambda: float(next(walls)))
    pooled = []

    async def pool(function, *args):
        pooled.append(len(pooled))
        return function(*args)

    monkeypatch.setattr(api, "run_in_threadpool", pool)
    client = TestClient(create_app())
    body = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": 1,
            "entry_price": 90_000, "leverage": 10}
    for _ in range(len(pattern)):
        assert client.post("/api/v1/liquidation", json=body).status_code == 200
    if moved_after is None:
        assert pooled == []
    else:
        assert len(pooled) == len(pattern) - moved_after


def test_a_call_fast_by_the_wall_clock_reads_no_cpu_clock(monkeypatch):
    from fastapi.testclient import TestClient

    from marginscope.web import api

    def no_cpu_clock() -> float:
        raise AssertionError("the CPU clock was read")

    monkeypatch.setattr(api, "thread_time", no_cpu_clock)
    monkeypatch.setattr(api, "perf_counter", lambda: 0.0)  # no wall time passes
    client = TestClient(create_app())
    for _ in range(3):
        assert client.post("/api/v1/account", json=BINANCE_CROSS_EXAMPLE).status_code == 200


def test_the_start_up_heap_is_frozen_while_serving_and_released_after():
    import gc

    from fastapi.testclient import TestClient

    with TestClient(create_app()) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
