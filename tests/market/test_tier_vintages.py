"""``tiers refresh`` keeps dated tables: a refresh of another day adds a vintage next to the
shipped ones, a refresh of the same day replaces that day's table."""

from __future__ import annotations

import json

from marginscope.market import leverage_tiers as lt
from marginscope.risk.tiers import find_table, in_force, table_from_dict


def _document(as_of: str, first_cap: float) -> dict:
    table = find_table("binance-usdm", "ETHUSDT").to_dict()
    table["as_of"] = as_of
    table["tiers"][0]["cap"] = first_cap
    table["tiers"][1]["floor"] = first_cap
    for row in table["tiers"]:
        row.pop("cum")  # derived by the rule again for the moved boundary
    return {"venue": "binance-usdm", "schema": 1, "tables": {"ETHUSDT": table}}


def test_refreshes_of_other_days_add_vintages_and_the_same_day_replaces(tmp_path):
    path = lt.write_tables("binance-usdm", _document("2025-01-01", 50_000), tmp_path)
    lt.write_tables("binance-usdm", _document("2024-06-01", 40_000), path)
    lt.write_tables("binance-usdm", _document("2025-01-01", 60_000), path)  # same day: replaced
    entry = json.loads(path.read_text(encoding="utf-8"))["tables"]["ETHUSDT"]
    assert [t["as_of"] for t in entry] == ["2024-06-01", "2025-01-01"]
    vintages = tuple(table_from_dict("binance-usdm", "ETHUSDT", t) for t in entry)
    assert [t.cap[0] for t in vintages] == [40_000, 60_000]
    assert in_force(vintages, "2024-12-31").as_of == "2024-06-01"
    assert in_force(vintages).as_of == "2025-01-01"
