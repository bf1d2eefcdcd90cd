# SPDX-License-Identifier: GPL-3.0-or-later
"""Command-line options generated from :class:`trainer.config.TrainConfig`.

The dataclass is the one source of truth for every training knob: its type, its default
(shown in ``--help`` as ``[default: ...]``, computed here, never copied into a help text) and
its help text (field metadata). A command declares which fields it exposes; the generated
options default to ``None`` so the command can tell "given on the command line" from "left
alone", which is what lets a config file sit between the defaults and the flags.

Config files (YAML or JSON) are converted by the same click parameter types as the flags, so
``image_size: "160"`` and ``--image-size 160`` go through one conversion and fail with one
message.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer

from trainer.config import TrainConfig
from trainer.errors import ConfigError

CommandT = TypeVar("CommandT", bound=Callable[..., Any])
OPTIONS_KEY = "options"


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _inner(hint: Any) -> Any:
    """``int | None`` -> ``int``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def default_text(field: dataclasses.Field[Any]) -> str:
    """The ``[default: ...]`` text of a field: its metadata's rule, else its value."""
    if "default_help" in field.metadata:
        return str(field.metadata["default_help"])
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = field.default_factory()  # type: ignore[misc]
    else:
        value = field.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    return str(value)


def option_for(field: dataclasses.Field[Any], *, help_text: str | None = None) -> tuple[Any, Any]:
    """(annotation, ``typer.Option``) for a config field."""
    hint = _inner(_field_types()[field.name])
    flag = "--" + field.name.replace("_", "-")
    text = help_text if help_text is not None else str(field.metadata.get("help", ""))
    text = f"{text} [default: {default_text(field)}]".strip()
    panel = field.metadata.get("panel")
    if hint is bool:
        info = typer.Option(None, f"{flag}/--no-{flag[2:]}", help=text, show_default=False,
                            rich_help_panel=panel)
        return bool | None, info
    annotation = Path if field.metadata.get("path") else hint
    info = typer.Option(None, flag, help=text, show_default=False, rich_help_panel=panel)
    return annotation | None, info


def config_options(names: Iterable[str], *,
                   help_texts: Mapping[str, str] | None = None) -> Callable[[CommandT], CommandT]:
    """Add an option per named ``TrainConfig`` field to a typer command.

    The command receives them as one ``options`` keyword: a dict of the fields given on the
    command line (``None`` values dropped, paths as strings), ready to layer over a config
    file's values.
    """
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    chosen = [fields[n] for n in names]

    def decorate(func: CommandT) -> CommandT:
        signature = inspect.signature(func)
        own = [p for p in signature.parameters.values() if p.name != OPTIONS_KEY]
        generated = []
        annotations = {k: v for k, v in func.__annotations__.items() if k != OPTIONS_KEY}
        for field in chosen:
            annotation, info = option_for(field, help_text=(help_texts or {}).get(field.name))
            generated.append(inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY,
                                               default=info, annotation=annotation))
            annotations[field.name] = annotation

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {}
            for field in chosen:
                value = kwargs.pop(field.name, None)
                if value is not None:
                    given[field.name] = str(value) if isinstance(value, Path) else value
            return func(*args, **kwargs, **{OPTIONS_KEY: given})

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if
                  p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD else p for p in own]
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=params + generated)
        wrapper.__annotations__ = annotations
        return wrapper  # type: ignore[return-value]

    return decorate


def typed_file_values(values: Mapping[str, Any], params: Mapping[str, Any], ctx: Any, *,
                      source: str) -> dict[str, Any]:
    """A config file's values converted by the click parameters of the command line
    (``params`` by name, converted in ``ctx``).

    Keys may use ``-`` or ``_``. Config fields without a flag (``val_ratio``, ``mean``, ...,
    as in a run's saved config.json) are taken as the file typed them; a key that is neither
    is an error with a suggestion (a typo in a config file must not be silently ignored).
    """
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    typed: dict[str, Any] = {}
    unknown = []
    for raw_key, value in values.items():
        key = str(raw_key).replace("-", "_")
        key = {"out": "out_dir"}.get(key, key)
        param = params.get(key)
        if param is None and key not in fields:
            close = difflib.get_close_matches(key, [*params, *fields], n=1)
            unknown.append(f"{raw_key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            continue
        if value is None:
            continue
        if param is None:
            typed[key] = value
            continue
        try:
            converted = param.process_value(ctx, value)
        except typer.BadParameter as exc:
            raise ConfigError(f"{source}: {raw_key}={value!r} is invalid "
                              f"({exc.format_message()}).") from None
        if isinstance(converted, (tuple, list)):
            converted = [str(v) if isinstance(v, Path) else v for v in converted]
        typed[key] = str(converted) if isinstance(converted, Path) else converted
    if unknown:
        raise ConfigError(f"{source}: unknown option(s) {', '.join(unknown)}.")
    return typed

