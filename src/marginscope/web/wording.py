"""Field errors in plain words for the pages: "Quantity must be more than 0".

The API's ``detail`` keeps its machine fields (``allowed: "≥ 1e-12"``); a page turns the same
entry into one sentence with the same range wording everywhere — bounds from the model
(``≥ 0.01 and ≤ 1000``) and from the venue's tiers (``1 … 125``) both read "between A and B".
Floors of 1e-12 (prices, sizes: a guard against subnormal inputs) read "more than 0".
"""

from __future__ import annotations

import re

__all__ = ["plain_error"]

_NUMBER = r"-?\d+(?:\.\d+)?(?:e[+\-]?\d+)?"
_BOUND = re.compile(rf"(>|≥|<|≤)\s*({_NUMBER})", re.IGNORECASE)
_RANGE = re.compile(rf"^({_NUMBER})\s*…\s*({_NUMBER})(.*)$", re.IGNORECASE)
TINY = 1e-9  # a floor this small is "more than 0" for a person
HUGE = 1e11  # a ceiling this large is a guard, not a rule worth stating


def _num(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:,.10g} %"
    return f"{value:,.10g}"


def _range(lower: tuple[str, float] | None, upper: tuple[str, float] | None, percent: bool) -> str:
    if lower and 0 <= lower[1] <= TINY:
        lower = (">", 0.0)
    if upper and abs(upper[1]) >= HUGE:
        upper = None
    if lower and upper:
        return f"must be between {_num(lower[1], percent)} and {_num(upper[1], percent)}"
    if lower:
        return (
            f"must be more than {_num(lower[1], percent)}"
            if lower[0] == ">"
            else f"must be {_num(lower[1], percent)} or more"
        )
    if upper:
        return (
            f"must be less than {_num(upper[1], percent)}"
            if upper[0] == "<"
            else f"must be {_num(upper[1], percent)} or less"
        )
    return ""


def plain_error(
    name: str, allowed: str, missing: bool = False, percent: bool = False, either: str = ""
) -> str:
    """One sentence for a field's problem: ``name`` is its label, ``allowed`` the API's text.

    ``percent``: the field is typed in percent, so bounds are stated in percent; ``either``:
    the field that may be given instead (leverage or margin).
    """
    if missing:
        return f"Give {name.lower()} or {either}" if either else f"{name} is required"
    bounds = _BOUND.findall(allowed)
    if bounds and re.fullmatch(rf"(\s*(and\s*)?(>|≥|<|≤)\s*{_NUMBER}\s*)+", allowed, re.IGNORECASE):
        lower = next(((op, float(v)) for op, v in bounds if op in ">≥"), None)
        upper = next(((op, float(v)) for op, v in bounds if op in "<≤"), None)
        text = _range(lower, upper, percent)
        if text:
            return f"{name} {text}"
    if match := _RANGE.match(allowed.strip()):
        rest = match.group(3).strip()
        text = _range(("≥", float(match.group(1))), ("≤", float(match.group(2))), percent)
        return f"{name} {text}{' ' + rest if rest else ''}"
    lowered = allowed.lower()
    if "shipped tier table" in lowered:
        return (
            f"{name}: pick one from the list (a symbol with a shipped tier table), or give "
            "the MMR under More options"
        )
    if "valid number" in lowered or "valid integer" in lowered or "finite number" in lowered:
        whole = "whole " if "integer" in lowered else ""
        example = "3" if whole else "95,000 or 95k"
        return f"{name} must be a {whole}number, like {example}"
    if lowered.startswith("one of "):
        options = re.findall(r"'([^']*)'", allowed)
        if options:
            return f"{name} must be {' or '.join(options)}"
    if not allowed:
        return f"{name} is not valid"
    acronym = allowed[1:2].isupper()  # "USD per GBP" keeps its capitals
    return f"{name}: {allowed if acronym else allowed[:1].lower() + allowed[1:]}"
