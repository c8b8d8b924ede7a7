"""The options reference of every ``marginscope calc`` command, generated from the declarations.

``python -m marginscope.cli.reference`` rewrites the section "Options of each calculator" of
docs/calculators.md; tests/test_docs.py fails when the committed section differs from what the
declarations generate, so the reference cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic.fields import FieldInfo

from marginscope.calculators import REGISTRY, Calculator

__all__ = ["HEADING", "options_section", "write"]

HEADING = "## Options of each calculator"
INTRO = """\
Every `marginscope calc <name>` takes its request's fields as options (a field `entry_price`
is `--entry-price`), plus `--input FILE` (a JSON request; `-` reads stdin) and `--json`
(print JSON). Lists (fills, positions, buys, funding rates) are JSON or come with `--input`.
This reference lists each calculator's fields; `marginscope calc <name> --help` prints the
same with types, and `GET /openapi.json` has the API schema. It is generated from the
declarations (`python -m marginscope.cli.reference`)."""
_BOUNDS = ((Ge, "≥", "ge"), (Gt, ">", "gt"), (Le, "≤", "le"), (Lt, "<", "lt"))


def _constraints(field: FieldInfo) -> list[Any]:
    """The field's own constraints, and those of an ``Annotated`` type inside ``X | None``."""
    found = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        if typing.get_origin(arg) is typing.Annotated:
            for item in typing.get_args(arg)[1:]:
                found += item.metadata if isinstance(item, FieldInfo) else [item]
    return found


def _range(field: FieldInfo) -> str:
    constraints = _constraints(field)
    parts = [f"{symbol} {getattr(item, key):g}" for item in constraints
             for kind, symbol, key in _BOUNDS if isinstance(item, kind)]
    whole = int in (field.annotation, *typing.get_args(field.annotation)) or any(
        typing.get_args(arg)[:1] == (int,) for arg in typing.get_args(field.annotation))
    if parts:
        return ("integer " if whole else "number ") + " and ".join(parts)
    lengths = {type(item).__name__: item for item in constraints
               if isinstance(item, MinLen | MaxLen)}
    if lengths:
        low = lengths["MinLen"].min_length if "MinLen" in lengths else 0
        high = lengths["MaxLen"].max_length if "MaxLen" in lengths else "∞"
        return f"text, {low} … {high} characters"
    return "integer" if whole else ""


def _choices(annotation: Any) -> list[str]:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Literal:
            return [str(value) for value in typing.get_args(arg)]
    return []


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(arg) is list for arg in (annotation, *typing.get_args(annotation)))


def _meaning(field: FieldInfo) -> str:
    parts = ["required"] if field.is_required() else []
    text = (field.description or "").strip()
    choices = _choices(field.annotation)
    if choices:
        text = f"{text} [{' | '.join(choices)}]".strip()
    if field.default is not None and not field.is_required():
        text = f"{text} (default {field.default})".strip()
    if text:
        parts.append(text.replace("|", "\\|"))
    if _is_list(field.annotation):
        parts.append("JSON list (each item as in the API schema; `--input` is easier)")
    elif bound := _range(field):
        parts.append(bound)
    return "; ".join(parts)


def _calculator(calculator: Calculator) -> str:
    rows = [f"| `--{name.replace('_', '-')}` | {_meaning(field)} |"
            for name, field in calculator.model.model_fields.items()]
    return "\n".join([f"### `{calculator.name}`", "", calculator.summary, "",
                      "| option | meaning |", "|---|---|", *rows])


def options_section() -> str:
    """The whole section, heading included, as docs/calculators.md holds it."""
    blocks = [_calculator(calculator) for calculator in REGISTRY.values()]
    return "\n\n".join([HEADING, INTRO, *blocks]) + "\n"


def write(doc: Path) -> None:
    """Replace the section in ``doc`` (it runs to the next ``## `` heading or the end)."""
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(HEADING)}$.*?(?=^## |\Z)", re.M | re.S)
    if not pattern.search(text):
        text = text.rstrip("\n") + "\n\n" + options_section()
    else:
        text = pattern.sub(lambda _: options_section() + "\n", text, count=1)
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/calculators.md"))
