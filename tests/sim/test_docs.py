"""docs/sim.md is the contract: every demo option, modelling assumption and reason is
documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from marginscope.cli import app
from marginscope.sim.behaviour import REASONS, TEMPLATES, Assumptions

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sim.md").read_text(encoding="utf-8")


def test_every_demo_option_is_documented():
    command = typer.main.get_command(app).commands["demo"]
    options = [o for p in command.params for o in p.opts if o.startswith("--")]
    assert {"--no-serve", "--out", "--db", "--seed", "--port", "--scale", "--calm"} <= set(
        options)
    assert [o for o in options if f"`{o}`" not in DOC] == []


def test_every_assumption_reason_and_session_is_documented():
    names = [f"Assumptions.{f.name}" for f in dataclasses.fields(Assumptions)]
    names += [f"`{reason}`" for reason in REASONS] + [f"`{key}`" for key in TEMPLATES]
    assert [n for n in names if n not in DOC] == []


def test_no_date_of_the_story_is_given_to_the_simulator():
    from pathlib import Path

    import marginscope.sim as sim

    folder = Path(sim.__file__).parent
    for name in ("agents.py", "behaviour.py", "generate.py", "hazard.py", "path.py",
                 "population.py", "pricer.py", "routine.py", "truth.py"):
        text = (folder / name).read_text(encoding="utf-8")
        for story in ("2025-11-04", "2025-11-20", "2025-11-21", "2025-11-23", "NOVEMBER_2025"):
            assert story not in text, (name, story)
