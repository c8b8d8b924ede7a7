"""The venue registry is the one place venue facts live (STYLE.md: "the engine asks the
registry; it never branches on venue names"): every venue declares its notation, and no other
code spells a venue id."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import marginscope
from marginscope.risk.instruments import across_venues, parse_symbol, venue_symbol
from marginscope.risk.notation import Instrument
from marginscope.risk.venues import DEFAULT_VENUE, GENERIC_VENUE, VENUES

SRC = Path(marginscope.__file__).parent
# The registry itself and the market-data module's one table of exchanges to venue ids (the
# simulator's venue shares are data: sim/data/venue_shares.json).
ALLOWED = (SRC / "risk" / "venues", SRC / "market" / "exchanges.py")


def _venue_literals(path: Path, root: Path = SRC) -> list[str]:
    """``file:line: 'id'`` for each string constant that is exactly a venue id (docstrings,
    being longer, never are)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VENUES
    ]


def test_no_code_outside_the_registry_spells_a_venue_id():
    files = [p for p in SRC.rglob("*.py") if not any(p == a or a in p.parents for a in ALLOWED)]
    found = [hit for path in files for hit in _venue_literals(path)]
    assert found == []


def test_the_check_catches_a_literal_and_passes_a_docstring(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(f'"""Docstring naming {DEFAULT_VENUE}."""\nVENUE = "{DEFAULT_VENUE}"\n')
    assert _venue_literals(probe, tmp_path) == [f"probe.py:2: {DEFAULT_VENUE!r}"]


def test_the_defaults_are_registered_venues():
    assert DEFAULT_VENUE in VENUES
    assert GENERIC_VENUE in VENUES
    assert VENUES[GENERIC_VENUE].tier_answer is None  # nothing venue-specific to refresh


@pytest.mark.parametrize("name", list(VENUES))
def test_each_venue_declares_quotes_for_exactly_its_products(name):
    venue = VENUES[name]
    assert tuple(venue.notation.quotes) == venue.products
    assert all(venue.notation.quotes[p] for p in venue.products)


@pytest.mark.parametrize("name", list(VENUES))
def test_each_venue_reads_back_what_it_writes_for_every_quote_it_offers(name):
    notation = VENUES[name].notation
    for product, quotes in notation.quotes.items():
        for quote in quotes:
            base = "BTC"  # every venue's inverse offer includes BTC (BitMEX: only BTC)
            instrument = Instrument(base, quote, quote if product == "linear" else base)
            assert parse_symbol(name, venue_symbol(name, instrument)) == instrument


@pytest.mark.parametrize("name", list(VENUES))
def test_each_venue_quotes_examples_it_can_read(name):
    for example in VENUES[name].notation.examples.split(", "):
        parse_symbol(name, example)  # an InputError here: the error message would mislead


def test_bitmex_has_no_inverse_ether_so_it_maps_to_none():
    # BitMEX's ETHUSD settles in XBT (a quanto): Binance COIN-M's ETHUSD_PERP has no twin there
    answer = across_venues("binance-coinm", "ETHUSD_PERP")
    assert answer["venues"]["bitmex"] is None
    assert answer["venues"]["okx"]["symbol"] == "ETH-USD-SWAP"
