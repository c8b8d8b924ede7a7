"""The docs are the contract (datasette's habit): every CLI command and option, every calculator
and every setting, derived from the code, must appear in docs/*.md or README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from marginscope import config
from marginscope.calculators import REGISTRY
from marginscope.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMMON = {"--input", "--json", "--help"}  # every calc sub-command's; documented once


@pytest.fixture(scope="module")
def docs() -> str:
    files = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


@pytest.fixture(scope="module")
def calculators_doc() -> str:
    return (ROOT / "docs" / "calculators.md").read_text(encoding="utf-8")


def commands() -> list[tuple[tuple[str, ...], object]]:
    """Every command of the Typer app with its path (``("calc", "account")``)."""
    found = []

    def walk(command, path: tuple[str, ...]) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found[1:]


def options(command) -> list[str]:
    return [o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]


def mentions(text: str, option: str) -> bool:
    return re.search(re.escape(option) + r"(?![\w-])", text) is not None


def section(doc: str, name: str) -> str:
    """The ``### `name``` section of docs/calculators.md (empty if there is none)."""
    match = re.search(rf"^### `{re.escape(name)}`$(.*?)(?=^##)", doc + "\n##", re.M | re.S)
    return match.group(1) if match else ""


def test_the_code_has_what_the_checks_below_walk():
    assert len(commands()) >= 40 and len(REGISTRY) >= 25 and len(config.settings_names()) >= 20


def test_every_command_is_documented(docs):
    missing = [
        " ".join(path)
        for path, _ in commands()
        if f"marginscope {' '.join(path)}" not in docs and f"`{path[-1]}`" not in docs
    ]
    assert missing == []


def test_every_option_outside_calc_is_documented(docs):
    missing = [
        (" ".join(path), option)
        for path, command in commands()
        if path[0] != "calc"
        for option in options(command)
        if option not in COMMON and not mentions(docs, option)
    ]
    assert missing == []


def test_every_calculator_and_its_options_are_documented(calculators_doc):
    calc = dict(commands())
    missing = []
    for name in REGISTRY:
        if f"| `{name}` |" not in calculators_doc:
            missing.append((name, "row in the table"))
        text = section(calculators_doc, name)
        if not text:
            missing.append((name, "### section"))
        missing += [
            (name, option)
            for option in options(calc["calc", name])
            if option not in COMMON and not mentions(text, option)
        ]
    assert missing == []
    assert all(mentions(calculators_doc, option) for option in COMMON - {"--help"})


def test_every_setting_is_documented(docs):
    assert [name for name in config.settings_names() if f"`{name}`" not in docs] == []


def test_settings_table_lists_every_variable_config_reads():
    source = Path(config.__file__).read_text(encoding="utf-8")
    code = source.split('"""', 2)[2]  # after the module docstring (its table)
    read = set(re.findall(r'"(MARGINSCOPE_[A-Z_]+)"', code))
    assert read and read <= set(config.settings_names())
