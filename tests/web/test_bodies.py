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


# --- strict_json on a model: the set-field count (issue 19, session 5) ----------------------

from pydantic import ConfigDict, Field  # noqa: E402
from starlette.responses import Response  # noqa: E402

from marginscope.calculators.base import Request  # noqa: E402
from marginscope.web.bodies import _plan, strict_json  # noqa: E402


class Leg(Request):
    qty: float
    symbol: str | None = None


class Book(Request):
    name: str
    legs: list[Leg] = Field(min_length=1)
    main: Leg | None = None


leg_keys = st.sampled_from(["qty", "symbol"])
leg_values = {
    "qty": st.floats(0.5, 9.0),
    "symbol": st.sampled_from(["BTCUSDT", "BTC/USDT:USDT", 'a"b:']),  # colons in strings too
}


@st.composite
def legs(draw):
    pairs = [("qty", draw(leg_values["qty"]))]
    for key in draw(st.lists(leg_keys, max_size=2)):  # a repeat now and then
        pairs.append((key, draw(leg_values[key])))
    return draw(st.permutations(pairs))


@st.composite
def books(draw):
    pairs = [
        ("name", draw(st.sampled_from(["x", "y:z"]))),
        ("legs", draw(st.lists(legs(), min_size=1, max_size=3))),
    ]
    if draw(st.booleans()):
        pairs.append(("main", draw(legs())))
    if draw(st.booleans()):  # the name again: a repeat at the top
        pairs.append(("name", draw(st.sampled_from(["x", "w"]))))
    return draw(st.permutations(pairs))


def test_the_calculators_models_have_a_plan():
    from marginscope.calculators import REGISTRY

    assert _plan(Book) == {"legs": (True, Leg), "main": (False, Leg)}
    assert all(_plan(c.model) is not None for c in REGISTRY.values())


@settings(max_examples=300, deadline=None)
@given(pairs=books())
def test_strict_json_answers_400_for_every_repeated_key_and_otherwise_validates(pairs):
    text = render(pairs)
    answer = strict_json(Book, text.encode())
    if has_duplicate(text):
        assert isinstance(answer, Response) and answer.status_code == 400
        assert b"more than once" in answer.body
    else:
        expected = (
            Book.model_validate_json(text, strict=True)
            if not isinstance(answer, Response)
            else None
        )
        assert answer == expected or answer.status_code == 422


def test_a_repeated_key_beside_a_bad_value_is_the_400():
    answer = strict_json(Book, b'{"name": "x", "legs": [{"qty": "1", "qty": 2.0}]}')
    assert answer.status_code == 400 and b"'qty'" in answer.body
    answer = strict_json(Book, b'{"name": "x", "legs": [{"qty": "1"}]}')
    assert answer.status_code == 422


class Defaulted(Request):
    name: str
    legs: list[Leg] = Field(default_factory=lambda: [Leg(qty=1.0)])


def test_a_defaults_models_are_not_counted_as_keys_of_the_body():
    # two colons, one set field: the default's Leg (one set field) counted would make two
    # and hide the repeated "name"
    answer = strict_json(Defaulted, b'{"name": "a", "name": "b"}')
    assert answer.status_code == 400 and b"'name'" in answer.body
    assert strict_json(Defaulted, b'{"name": "a"}') == Defaulted(name="a")


def test_models_that_could_set_fields_themselves_have_no_plan():
    from pydantic import model_validator

    class Validated(Request):
        name: str

        @model_validator(mode="before")
        @classmethod
        def fill(cls, data):
            return data

    class PostInit(Request):
        name: str

        def model_post_init(self, context) -> None:
            pass

    class Loose(Book):
        model_config = ConfigDict(extra="ignore")

    assert _plan(Validated) is None and _plan(PostInit) is None and _plan(Loose) is None
    assert strict_json(PostInit, b'{"name": "a", "name": "b"}').status_code == 400
