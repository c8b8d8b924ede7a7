"""The generated ``marginscope calc …`` commands: JSON out, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from marginscope.calculators import REGISTRY
from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE
from marginscope.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_account_from_a_file_answers_binance_published_cross_prices(capsys, tmp_path):
    request = tmp_path / "account.json"
    request.write_text(json.dumps(BINANCE_CROSS_EXAMPLE))
    code, out, _ = run(capsys, "calc", "account", "--input", str(request), "--json")
    positions = json.loads(out)["positions"]
    assert code == 0
    assert round(positions[0]["liquidation_price"], 2) == 26316.89  # Binance FAQ example
    assert round(positions[1]["liquidation_price"], 2) == 1153.26


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_calculator_runs_its_example_through_the_cli(capsys, tmp_path, name):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REGISTRY[name].example))
    code, out, _ = run(capsys, "calc", name, "--input", str(request), "--json")
    assert code == 0
    assert json.loads(out) == REGISTRY[name].run(REGISTRY[name].example)


@pytest.mark.parametrize(("args", "field"), [
    (["--qty", "-1"], "qty"),
    (["--qty", "nan"], "qty"),
    (["--entry-price", "inf"], "entry_price"),
    (["--leverage", "126"], "leverage"),
    (["--venue", "nasdaq"], "venue"),
    (["--symbol", "NOPEUSDT"], "symbol"),
])
def test_bad_input_is_one_line_naming_the_field_and_exit_code_2(capsys, args, field):
    base = {"--symbol": "BTCUSDT", "--side": "long", "--qty": "1", "--entry-price": "90000",
            "--leverage": "10"}
    for option, value in zip(args[::2], args[1::2], strict=True):
        base[option] = value
    code, out, err = run(capsys, "calc", "liquidation",
                         *[part for pair in base.items() for part in pair])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {field}")


def test_flags_from_the_liquidation_command_give_the_engine_answer(capsys):
    code, out, _ = run(capsys, "calc", "liquidation", "--venue", "bybit", "--side", "short",
                       "--qty", "1", "--entry-price", "8000", "--leverage", "40", "--mmr",
                       "0.005", "--json")
    assert code == 0
    assert json.loads(out)["liquidation_price"] == pytest.approx(8160.0)  # Bybit help page


def test_liquidation_risk_monte_carlo_agrees_with_the_closed_form(capsys):
    base = ["calc", "liquidation-risk", "--side", "long", "--price", "90000",
            "--liquidation-price", "80000", "--volatility", "0.6", "--horizon-days", "7",
            "--drift", "0", "--json", "--method"]
    _, closed, _ = run(capsys, *base, "closed-form")
    _, simulated, _ = run(capsys, *base, "monte-carlo")
    closed, simulated = json.loads(closed), json.loads(simulated)
    assert abs(simulated["probability"] - closed["probability"]) < 3 * simulated["standard_error"]
