"""Server-rendered pages: generated forms, the result fragment, and no 5xx from any form post."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginscope.calculators import REGISTRY
from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE
from marginscope.risk.tiers import load_venue_tables
from marginscope.web.forms import build_fields, parse_form

FORM = {"content-type": "application/x-www-form-urlencoded"}


class Controls(HTMLParser):
    """Collects form controls and label targets of a page (outside <template>)."""

    def __init__(self):
        super().__init__()
        self.ids, self.labelled, self.controls, self.depth = set(), set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":
            self.depth += 1
        if self.depth:
            return
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "label" and "for" in attrs:
            self.labelled.add(attrs["for"])
        if tag in ("input", "select", "textarea"):
            self.controls.append(attrs)

    def handle_endtag(self, tag):
        if tag == "template":
            self.depth -= 1


@pytest.mark.parametrize("name", list(REGISTRY))
@pytest.mark.parametrize("example", ["starter", "full", "none"])
def test_every_calculator_has_a_page_with_a_labelled_form(client, name, example):
    response = client.get(f"/{name}?example={example}")
    assert response.status_code == 200
    assert '<form class="calc"' in response.text
    parser = Controls()
    parser.feed(response.text)
    assert parser.controls
    for control in parser.controls:
        if control.get("type") == "hidden":
            continue
        labelled = control.get("id") in parser.labelled or control.get("aria-label")
        assert labelled, f"{name}: unlabelled control {control}"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_example_page_shows_the_example_result(client, name):
    text = client.get(f"/{name}?example=full").text
    assert 'class="result"' in text, f"{name}: no result for its own example"


def _shown(fields):
    """(name, value) of every control as the page fills it in (rates in percent)."""
    for f in fields:
        if f.kind == "group":
            for item in f.items:
                yield from _shown(item)
        elif f.value != "":
            yield f.path, f.value


def test_form_post_parses_back_to_the_request(client):
    model = REGISTRY["account"].model
    pairs = list(_shown(build_fields(model, BINANCE_CROSS_EXAMPLE)))
    assert ("positions.0.mmr", "2.5") in pairs  # MMR 0.025 is shown as 2.5 (%)
    parsed = parse_form(model, pairs)
    assert model.model_validate(parsed) == model.model_validate(BINANCE_CROSS_EXAMPLE)


def test_fragment_answers_binance_cross_example(client):
    body = urlencode(list(_shown(build_fields(REGISTRY["account"].model, BINANCE_CROSS_EXAMPLE))))
    response = client.post("/account/result", content=body, headers=FORM)
    assert response.status_code == 200
    assert "26,316.89" in response.text and "1,153.26" in response.text
    assert "What this means" in response.text


def test_liquidation_fragment_explains_the_difference_from_the_textbook_formula(client):
    body = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": "1",
            "entry_price": "90000", "leverage": "10"}
    text = client.post("/liquidation/result", data=body).text
    result = REGISTRY["liquidation"].run(body)
    assert f"{result['naive_liquidation_price']:,.2f}" in text  # 81,450.00, the textbook one
    assert f"{result['liquidation_price']:,.2f}" in text
    assert "Maintenance margin is" in text and "<svg" in text


def test_problems_name_the_fields_to_fix(client):
    body = urlencode([("venue", "binance-usdm"), ("margin_mode", "cross"),
                      ("wallet_balance", "1000"), ("positions.0.symbol", "BTCUSDT"),
                      ("positions.0.side", "long"), ("positions.0.qty", "-1"),
                      ("positions.0.entry_price", "90000")])
    response = client.post("/account/result", content=body, headers=FORM)
    assert response.status_code == 422
    assert 'data-inputs="positions.0.qty"' in response.text
    assert "Quantity (position 1)" in response.text


def test_without_javascript_the_form_posts_to_the_page(client):
    body = urlencode(list(_shown(build_fields(REGISTRY["account"].model, BINANCE_CROSS_EXAMPLE))))
    response = client.post("/account", content=body, headers=FORM)
    assert response.status_code == 200
    assert "<html" in response.text and "26,316.89" in response.text
    assert 'value="3683.979"' in response.text  # the posted values are kept in the form


def test_symbol_pickers_offer_the_shipped_tables(client):
    text = client.get("/account").text
    for symbol in load_venue_tables("binance-usdm"):
        assert f'<option value="{symbol}"' in text
    assert '"bybit": [' in text  # the other venues' symbols for the picker script


def test_wallet_balance_is_shown_only_for_cross_margin():
    fields = build_fields(REGISTRY["account"].model, {"margin_mode": "isolated"})
    wallet = next(f for f in fields if f.name == "wallet_balance")
    assert wallet.show_when == ("margin_mode", "cross") and wallet.hidden
    fields = build_fields(REGISTRY["account"].model, {"margin_mode": "cross"})
    assert not next(f for f in fields if f.name == "wallet_balance").hidden


def test_index_links_every_calculator(client):
    text = client.get("/").text
    for name in REGISTRY:
        assert re.search(rf'href="[^"]*/{re.escape(name)}"', text)


def test_static_assets_are_served_locally(client):
    for path in ("/static/app.js", "/static/app.css", "/static/icon.svg"):
        assert client.get(path).status_code == 200
    page = client.get("/liquidation").text
    # nothing from a CDN (a plain link to a tier table's source is not an asset)
    assert not re.search(r'<(script|link|img)[^>]*(src|href)="(https?:)?//', page)
    assert "http" not in client.get("/static/app.js").text


# --- any form post, never a 5xx -------------------------------------------------------------

def _names(name):
    fields = build_fields(REGISTRY[name].model, {})
    out = []
    for f in fields:
        if f.kind == "group":
            out += [t.path.replace("__i__", "0") for t in f.template]
            out += [t.path.replace("__i__", "7") for t in f.template]
        else:
            out.append(f.path)
    return out


junk = st.one_of(st.sampled_from(["", "0", "-1", "1e308", "nan", "inf", "1,5", "BTCUSDT",
                                  "long", "cross", "__other__", "9" * 400, "[1,2]", "{}",
                                  "1e-320", "0x10", "１２"]),
                 st.text(max_size=30), st.floats(allow_nan=True).map(str))


@pytest.mark.parametrize("name", list(REGISTRY))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(data=st.data())
def test_any_form_post_is_answered_without_a_server_error(client, name, data):
    names = [*_names(name), "positions.999999.qty", "unknown", "positions.x.qty"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(names), junk), max_size=12))
    response = client.post(f"/{name}/result", content=urlencode(pairs), headers=FORM)
    assert response.status_code in (200, 422), response.text[:500]


def test_a_posted_venue_never_reaches_the_table_files(client):
    from marginscope.risk.tiers import load_venue_tables

    before = load_venue_tables.cache_info().currsize
    for venue in ("../../../../etc/passwd", "../tiers/binance-usdm", "nope"):
        response = client.post("/liquidation/result", data={"venue": venue, "side": "long"})
        assert response.status_code == 422
    assert load_venue_tables.cache_info().currsize == before
