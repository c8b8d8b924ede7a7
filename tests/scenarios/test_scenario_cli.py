"""``marginscope scenario …`` end to end: the November replay pinned from the shipped CSVs,
readable output, charts (PNG and SVG), one-line errors, and every option documented."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer

from marginscope.calculators import REGISTRY
from marginscope.cli import app, main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
LONG = ["--symbol", "BTCUSDT", "--side", "long", "--qty", "0.1", "--leverage", "10"]
PLAN = ["--add", "1000", "--at-margin-ratio", "0.8", "--max-times", "2"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["scenario", *argv])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_replay_json_says_when_the_november_10x_long_was_liquidated(capsys, november_case):
    expected = november_case.expected()
    code, out, err = run(capsys, "replay", *LONG, "--json")
    assert code == 0, err
    s = json.loads(out)["summary"]
    assert s["liquidated"] and s["liquidation_time"] == expected["time"]
    assert s["liquidation_price"] == pytest.approx(expected["price"], rel=1e-12)
    assert s["funding_paid"] == pytest.approx(expected["funding"], rel=1e-12)


def test_replay_json_with_the_plan_survives_and_states_its_cost(capsys, november_case):
    expected = november_case.expected((1_000.0, 0.8, 2))
    code, out, _ = run(capsys, "replay", *LONG, *PLAN, "--json")
    s = json.loads(out)["summary"]
    assert code == 0 and not s["liquidated"]
    assert [t["time"] for t in s["top_ups"]] == [t for t, _ in expected["top_ups"]]
    assert s["net_cost"] == pytest.approx(november_case.margin + 2_000.0 - expected["equity"],
                                          rel=1e-12)
    assert s["funding_paid"] == pytest.approx(expected["funding"], rel=1e-12)


def test_replay_is_the_scenario_calculator(capsys, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps({**REGISTRY["scenario"].example, "max_times": 1}))
    code, out, _ = run(capsys, "replay", "--input", str(request), "--max-times", "2", "--json")
    assert code == 0
    assert json.loads(out) == REGISTRY["scenario"].run(REGISTRY["scenario"].example)


def test_readable_output_leads_with_the_outcome(capsys, november_case):
    expected = november_case.expected()
    code, out, _ = run(capsys, "replay", *LONG)
    assert code == 0
    when = expected["time"].replace("T", " ").replace(":00Z", " UTC")
    assert f"Liquidated in the 4h bar {when}" in " ".join(out.split())
    assert f"{expected['price']:,.2f}" in out
    code, out, _ = run(capsys, "replay", *LONG, *PLAN)
    assert "Survived to 2025-12-01 00:00 UTC: 2 top-up(s)" in " ".join(out.split())
    assert "Top-ups" in out and "every 6th bar" in out


def test_a_phone_width_png_chart_is_written(capsys, tmp_path):
    chart = tmp_path / "november.png"
    code, out, err = run(capsys, "replay", *LONG, *PLAN, "--chart", str(chart),
                         "--chart-size", "6x4")
    assert code == 0, err
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert f"chart: {chart}" in out


def test_an_svg_chart_of_a_scripted_liquidation_is_written(capsys, tmp_path):
    chart = tmp_path / "crash.svg"
    code, out, err = run(capsys, "replay", "--venue", "generic", "--mmr", "0.004", "--side",
                         "short", "--qty", "1", "--leverage", "20", "--path",
                         "+10%/4h, 0%/1d", "--start-price", "100000", "--chart", str(chart),
                         "--json")
    assert code == 0, err
    assert json.loads(out)["summary"]["liquidated"] is True
    root = ET.parse(chart).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Scripted path" in chart.read_text()


def test_a_chart_of_a_position_liquidated_in_its_first_bar(capsys, tmp_path):
    chart = tmp_path / "instant.svg"
    code, _, err = run(capsys, "replay", "--venue", "generic", "--mmr", "0.004", "--side",
                       "long", "--qty", "1", "--leverage", "50", "--path", "-10%/1h",
                       "--start-price", "100", "--chart", str(chart), "--json")
    assert code == 0, err
    assert ET.parse(chart).getroot().tag.endswith("svg")


@pytest.mark.parametrize(("args", "field"), [
    (["--chart", "out.pdf"], "--chart"),
    (["--chart", "out.png", "--chart-size", "huge"], "--chart-size"),
    (["--path", "sideways"], "path"),
    (["--leverage", "500"], "leverage"),
    (["--funding", "maybe"], "funding"),
])
def test_bad_options_are_one_line_errors_with_exit_code_2(capsys, tmp_path, args, field):
    args = [str(tmp_path / a) if a.startswith("out.") else a for a in args]
    code, out, err = run(capsys, "replay", *LONG, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {field}")


def test_plan_command_is_the_margin_plan_calculator(capsys):
    example = REGISTRY["margin-plan"].example
    code, out, _ = run(capsys, "plan", "--symbol", "BTCUSDT", "--side", "long", "--qty", "0.1",
                       "--entry-price", str(example["entry_price"]), "--leverage", "10",
                       "--volatility", str(example["volatility"]), "--horizon-days", "30",
                       "--target", "0.05", "--json")
    assert code == 0
    assert json.loads(out) == REGISTRY["margin-plan"].run(example)


def test_every_scenario_command_and_option_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    group = typer.main.get_command(app).commands["scenario"]
    for name, command in group.commands.items():
        assert f"scenario {name}" in text, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in text, f"{name} {opt}"
    assert "img/scenario_november_2025.png" in text
    assert (DOCS.parent / "img" / "scenario_november_2025.png").is_file()
