"""The CLI on symbols and dates: one line and exit code 2 for contradictions, unknown kinds
and dates without a table; ``--as-of`` and ``--product`` pass through."""

from __future__ import annotations

import json

import pytest

from marginscope.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


INVERSE = [
    "calc",
    "liquidation",
    "--venue",
    "bybit",
    "--symbol",
    "BTCUSD",
    "--side",
    "long",
    "--qty",
    "100",
    "--entry-price",
    "100",
    "--leverage",
    "2",
    "--mmr",
    "0.005",
    "--contract-size",
    "1",
]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--product", "linear"], "product"),
        (["--venue", "generic"], "symbol"),
        (["--venue", "bitmex", "--symbol", "ETHUSD"], "symbol"),
        (["--as-of", "2024-13-01"], "as_of"),
    ],
)
def test_bad_symbols_and_dates_are_one_line_and_exit_2(capsys, extra, field):
    code, out, err = run(capsys, *INVERSE, *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {field}")


def test_the_kind_follows_the_symbol(capsys):
    code, out, _ = run(capsys, *INVERSE, "--json")
    assert code == 0
    assert json.loads(out)["liquidation_price"] == pytest.approx(100.5 / 1.5)
    assert json.loads(out)["product"] == "inverse"


def test_as_of_reaches_the_table(capsys):
    code, out, _ = run(
        capsys,
        "calc",
        "liquidation",
        "--venue",
        "binance-usdm",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        "--qty",
        "4",
        "--entry-price",
        "66000",
        "--leverage",
        "10",
        "--as-of",
        "2022-06-01",
        "--json",
    )
    answer = json.loads(out)
    assert code == 0 and answer["table_as_of"] == "2022-05-21"
    # Binance FAQ: 264,000 USDT is in the 1 % bracket, maintenance amount 1,300
    assert (answer["mmr_at_entry"], answer["maintenance_amount_at_entry"]) == (0.01, 1300)
