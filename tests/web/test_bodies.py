"""The duplicate-key check by counting decides as the standard library's hooked parser does:
random JSON objects, with and without a repeated key, colons and escapes inside strings."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from marginscope.web.bodies import _no_duplicates, _unique

keys = st.text(alphabet='ab:"\\\\ é', min_size=1, max_size=3)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(-1e3, 1e3),
    st.text(alphabet='xy:"\\\\{}[], ', max_size=4),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.lists(st.tuples(keys, inner), max_size=4)
    ),
    max_leaves=12,
)


def render(value) -> str:
    """JSON text in which an object is a list of (key, value) pairs, kept in order and with
    any repeats (what a client can send); spacing varied around the colons."""
    if isinstance(value, list) and all(isinstance(p, tuple) for p in value) and value:
        return (
            "{"
            + ", ".join(
                f"{json.dumps(k)} {':' if i % 2 else ' : '}{render(v)}"
                for i, (k, v) in enumerate(value)
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value)


def has_duplicate(text: str) -> bool:
    try:
        json.loads(text, object_pairs_hook=_unique)
    except ValueError as exc:
        return type(exc).__name__ == "_DuplicateKey"
    return False


@settings(max_examples=400, deadline=None)
@given(value=values)
def test_counting_never_passes_a_duplicate(value):
    text = render(value).encode()
    if _no_duplicates(text):  # the fast answer "no duplicate" must be right
        assert not has_duplicate(text.decode())


no_colons = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.text(alphabet='xy"\\{}[], ', max_size=4)
)


@given(
    value=st.dictionaries(
        st.text(alphabet="abc", min_size=1, max_size=2),
        st.one_of(no_colons, st.lists(no_colons, max_size=3)),
        min_size=1,
        max_size=5,
    )
)
def test_bodies_without_a_colon_in_a_string_take_the_fast_path(value):
    assert _no_duplicates(json.dumps(value).encode())
