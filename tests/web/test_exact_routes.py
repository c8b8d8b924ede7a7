"""The API's exact-path dispatch (``ExactRoutes``) answers as FastAPI's own route matching does:
same status, headers and body for every calculator's example, its errors, the helpers, the
methods and paths it does not know (which it leaves to FastAPI), and the same OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginscope.calculators import REGISTRY
from marginscope.web import create_app
from marginscope.web.app import ExactRoutes


def _without_dispatch() -> object:
    app = create_app()
    app.router.routes[:] = [r for r in app.router.routes if not isinstance(r, ExactRoutes)]
    return app


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[TestClient, TestClient]]:
    fast = create_app()
    assert isinstance(fast.router.routes[0], ExactRoutes)
    with TestClient(fast) as with_dispatch, TestClient(_without_dispatch()) as without:
        yield with_dispatch, without


def _same(pair, method: str, path: str, **kwargs) -> int:
    answers = [client.request(method, path, **kwargs) for client in pair]
    first, second = answers
    assert (first.status_code, first.content) == (second.status_code, second.content), path
    assert dict(first.headers) == dict(second.headers), path
    return first.status_code


def test_every_api_route_without_parameters_is_in_the_table():
    table = create_app().router.routes[0].table
    paths = {path for _, path in table}
    assert {f"/api/v1/{name}" for name in REGISTRY} <= paths
    assert {
        "/api/v1/health",
        "/api/v1/calculators",
        "/api/v1/venues",
        "/api/v1/liquidation/curve",
    } <= paths
    assert all(method in ("GET", "POST") for method, _ in table)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_calculator_answers_its_example_and_its_errors_alike(pair, name):
    calculator = REGISTRY[name]
    path = f"/api/v1/{name}"
    assert _same(pair, "POST", path, json=calculator.example) == 200
    assert _same(pair, "POST", path, json={**calculator.example, "unknown_field": 1}) == 422
    assert (
        _same(
            pair, "POST", path, content=b"{not json", headers={"content-type": "application/json"}
        )
        == 400
    )
    assert _same(pair, "POST", path, content=b"{}", headers={"content-type": "text/plain"}) == 422
    assert _same(pair, "GET", path) == 405  # not in the table: FastAPI's answer


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/calculators"),
        ("GET", "/api/v1/venues"),
        ("HEAD", "/api/v1/health"),
        ("POST", "/api/v1/health"),
        ("GET", "/api/v1/health/"),
        ("GET", "/api/v1/instruments?venue=binance-usdm&symbol=BTCUSDT"),
        ("GET", "/api/v1/nothing"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/"),
    ],
)
def test_helpers_pages_and_unknown_paths_answer_alike(pair, method, path):
    _same(pair, method, path)


def test_the_liquidation_curve_answers_alike(pair):
    assert (
        _same(pair, "POST", "/api/v1/liquidation/curve", json=REGISTRY["liquidation"].example)
        == 200
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
    path=st.sampled_from(sorted({f"/api/v1/{n}" for n in REGISTRY} | {"/api/v1/health"}))
    | st.from_regex(r"\A/api/v1/[a-z\-/]{0,20}\Z"),
    body=st.one_of(
        st.none(),
        st.binary(max_size=60),
        st.dictionaries(
            st.sampled_from(["venue", "qty", "side", "positions"]),
            st.one_of(st.integers(), st.text(max_size=5)),
            max_size=3,
        ),
    ),
)
def test_any_request_is_answered_alike(pair, method, path, body):
    if isinstance(body, dict):
        _same(pair, method, path, json=body)
    else:
        _same(
            pair,
            method,
            path,
            content=body,
            headers={"content-type": "application/json"} if body is not None else {},
        )


def test_the_openapi_schema_is_unchanged(pair):
    fast, slow = pair
    assert fast.get("/openapi.json").json() == slow.get("/openapi.json").json()
