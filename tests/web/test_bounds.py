"""Every numeric field of every calculator, at and around its bounds and at the extremes of
float64 (subnormals, 1e308, ±0), one field at a time on the calculator's example: always an
answer or a 422, never a 5xx. Deterministic, so it catches what a random fuzz may miss."""

from __future__ import annotations

import math
import typing

import pytest

from marginscope.calculators import REGISTRY
from marginscope.web.forms import _unwrap

EXTREMES = [5e-324, -5e-324, 1e-300, 0.0, -0.0, 1e-12, 1e308, -1e308, 2**63, -1]


def _bounds(info) -> tuple[type, list[float]]:
    kind = _unwrap(info.annotation)
    edges = []
    for item in (*info.metadata, *kind.metadata):
        for attr in ("gt", "ge", "lt", "le"):
            value = getattr(item, attr, None)
            if isinstance(value, int | float):
                edges += [value, math.nextafter(value, math.inf),
                          math.nextafter(value, -math.inf)]
    return kind.base, edges


def _cases():
    for name, calculator in REGISTRY.items():
        example = calculator.example
        for field, info in calculator.model.model_fields.items():
            base, edges = _bounds(info)
            if base in (float, int):
                yield name, field, None, edges
            nested = example.get(field)
            if isinstance(nested, list) and nested and isinstance(nested[0], dict):
                model = typing.get_args(base)[0]
                for sub, sub_info in model.model_fields.items():
                    sub_base, sub_edges = _bounds(sub_info)
                    if sub_base in (float, int):
                        yield name, field, sub, sub_edges


CASES = list(_cases())


@pytest.mark.parametrize(("name", "field", "sub", "edges"), CASES,
                         ids=[f"{n}.{f}{'.' + s if s else ''}" for n, f, s, _ in CASES])
def test_edge_values_never_cause_a_server_error(client, name, field, sub, edges):
    example = REGISTRY[name].example
    for value in [*edges, *EXTREMES]:
        if sub is None:
            body = {**example, field: value}
        else:
            items = [dict(item) for item in example[field]]
            items[0][sub] = value
            body = {**example, field: items}
        response = client.post(f"/api/v1/{name}", json=body)
        assert response.status_code in (200, 422), (name, field, sub, value, response.text)
