"""docs/sim.md is the contract: every demo option, model parameter and phase is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from marginscope.cli import app
from marginscope.sim.behaviour import NOVEMBER_2025_PHASES, Profile, Responses

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sim.md").read_text(encoding="utf-8")


def test_every_demo_option_is_documented():
    command = typer.main.get_command(app).commands["demo"]
    options = [o for p in command.params for o in p.opts if o.startswith("--")]
    assert {"--no-serve", "--out", "--db", "--seed", "--port"} <= set(options)
    assert [o for o in options if f"`{o}`" not in DOC] == []


def test_every_parameter_and_phase_is_documented():
    names = [f"Responses.{f.name}" for f in dataclasses.fields(Responses)]
    names += [f"Profile.{f.name}" for f in dataclasses.fields(Profile)]
    names += [p.name for p in NOVEMBER_2025_PHASES]
    assert [n for n in names if n not in DOC] == []
