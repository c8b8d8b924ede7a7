"""``marginscope calc …``: one sub-command per calculator, generated from its declaration.

Every field of the calculator's input model becomes an option (``entry_price`` →
``--entry-price``); list fields take JSON. ``--input FILE`` (``-`` for stdin) reads the whole
request as JSON, options override it. ``--json`` prints the result as JSON.
"""

from __future__ import annotations

import inspect
import json
import sys
import typing
from pathlib import Path
from typing import Any

import typer

from marginscope.calculators import REGISTRY, Calculator
from marginscope.cli.render import show
from marginscope.errors import InputError

app = typer.Typer(no_args_is_help=True)

_SCALARS = (float, int, str)


def _option_type(annotation: Any) -> type:
    """float/int/str for scalar fields (Optional and Literal unwrapped); str (JSON) otherwise."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation in _SCALARS:
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        return str
    if typing.get_origin(annotation) is typing.Annotated:
        return _option_type(args[0])
    if len(args) == 1:
        return _option_type(args[0])
    return str  # lists, nested models: JSON text


def _help(field: Any, annotation: Any) -> str:
    text = field.description or ""
    literal = [a for a in (annotation, *typing.get_args(annotation))
               if typing.get_origin(a) is typing.Literal]
    if literal:
        text += f" \\[{' | '.join(map(str, typing.get_args(literal[0])))}]"  # escaped: not markup
    if field.default is not None and not field.is_required():
        text += f" (default {field.default})"
    return text.strip()


def read_json(path: str, field: str = "input") -> Any:
    """JSON from a file, or stdin for ``-``; malformed JSON is an :class:`InputError`."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(field, path, f"a UTF-8 JSON document (byte {exc.start} is not UTF-8)"
                         ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(field, path, f"a JSON document ({exc.msg} at line {exc.lineno})") \
            from None


def emit(title: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
    else:
        show(title, result)


def _make_command(calculator: Calculator) -> None:
    fields = calculator.model.model_fields
    parameters = []
    kinds: dict[str, type] = {}
    for name, field in fields.items():
        kind = _option_type(field.annotation)
        kinds[name] = kind
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, f"--{name.replace('_', '-')}",
                                 help=_help(field, field.annotation)),
            annotation=kind | None))
    parameters += [
        inspect.Parameter("input_file", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                          default=typer.Option(None, "--input", help="JSON request file, - for stdin")),
        inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--json", help="Print JSON")),
    ]

    def command(**options: Any) -> None:
        payload = read_json(options["input_file"]) if options["input_file"] else {}
        if not isinstance(payload, dict):
            raise InputError("input", type(payload).__name__, "a JSON object")
        for name, value in options.items():
            if name in fields and value is not None:
                is_json = kinds[name] is str and not _is_plain_str(fields[name].annotation)
                payload[name] = _json_option(name, value) if is_json else value
        emit(calculator.title, calculator.run(payload), options["as_json"])

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = calculator.summary
    app.command(calculator.name, help=calculator.summary)(command)


def _is_plain_str(annotation: Any) -> bool:
    """True for str-like fields (str, Literal, Optional of those); False for JSON fields."""
    origin = typing.get_origin(annotation)
    if annotation is str or origin is typing.Literal:
        return True
    if origin is typing.Annotated:
        return _is_plain_str(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return bool(args) and origin not in (list, dict) and all(_is_plain_str(a) for a in args)


def _json_option(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(name, text, f"JSON ({exc.msg})") from None


for _calculator in REGISTRY.values():
    _make_command(_calculator)
