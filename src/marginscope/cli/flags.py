"""Library errors in the command line's words: a parameter name becomes its flag.

The library names its own parameters (``month``, ``engine``, ``source``); a command that
passes a flag's value on says which flag that was, in one place, with :func:`as_flags`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from marginscope.errors import InputError

__all__ = ["as_flags"]


@contextmanager
def as_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise an :class:`InputError` about a parameter in ``flags`` (``{"month":
    "--month"}``) as one about its flag; other errors pass unchanged."""
    try:
        yield
    except InputError as exc:
        flag = flags.get(exc.field)
        if flag is None:
            raise
        raise InputError(flag, exc.value, exc.allowed, exc.detail) from exc
