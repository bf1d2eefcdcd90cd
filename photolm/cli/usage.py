# SPDX-License-Identifier: GPL-3.0-or-later
"""Typer's usage errors (an unknown option, a value out of range, a missing argument) as one
``Error: ...`` line, like every other photolm error, instead of a usage line, a hint and a
boxed message.

A value typer's validation refuses (``--limit -3``, ``--margin abc``) is quoted in the line,
after the option's name: typer's own message ("Input should be greater than or equal to 1")
does not say which value the person gave.

The root command class below is the one place they are caught: the root's own options are
parsed in its ``make_context``, and every command's (``places``' subcommands included) in its
``invoke``, so no command handles them itself. The exit status stays 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from photolm.cli.closed_pipe import reader_may_leave
from photolm.cli.flag_help import hide_flag_types
from photolm.cli.output import error_line
from photolm.errors import UsageError
from photolm.printed_paths import ONE_LINE


def options_clash(command: str, message: str) -> UsageError:
    """The usage error for options photolm finds cannot go together (``--errors`` with
    ``--uncertain``): one line pointing at ``photolm COMMAND --help``, as typer's own."""
    return UsageError(f"{message} See `photolm {command} --help`.")


def _with_value(exc: typer.TyperException) -> None:
    """Put the value a validation refused into ``exc``'s message: ``'-3' (input should be
    greater than or equal to 1)``. Typer raises its ``BadParameter`` from pydantic's
    ``ValidationError``, whose first error holds the input as the person typed it."""
    errors = getattr(exc.__cause__, "errors", None)
    message = getattr(exc, "message", None)
    if not callable(errors) or not isinstance(message, str):
        return
    try:
        given = errors()[0]["input"]
    except (IndexError, KeyError, TypeError):
        return
    shown = f"'{str(given).translate(ONE_LINE)}'" if isinstance(given, (str, int, float)) else ""
    if shown and shown not in message:  # a choice's message names it already
        reason = message[:1].lower() + message[1:]
        exc.message = f"{shown} ({reason.rstrip('.')})"


def usage_message(exc: typer.TyperException, command: str | None = None) -> str:
    """The error on one line, pointing at ``COMMAND --help``: the failing command's, or
    ``command`` where the error does not say (click's parser leaves the context out of
    "Option '--landmark' requires an argument")."""
    _with_value(exc)
    message = " ".join(getattr(exc, "format_message", exc.__str__)().split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        command = ctx.command_path if ctx.command.get_help_option(ctx) is not None else None
    if command is None:
        return message
    end = "" if message.endswith((".", "?", "!")) else "."
    return f"{message}{end} See `{command} --help`."


@contextlib.contextmanager
def one_line_usage(ctx: Any = None, command: str | None = None) -> Iterator[None]:
    """Turn a usage error raised inside into one line and its exit status; ``ctx``: the
    group's context, whose chosen command a context-less error is pinned on; ``command``:
    the one it is pinned on otherwise (a one-command tool's name)."""
    try:
        yield
    except typer.TyperException as exc:  # typer's (vendored) click.ClickException family
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is the answer, not an error
            raise
        if ctx is not None:
            command = " ".join(filter(None, (ctx.command_path, ctx.invoked_subcommand)))
        error_line(usage_message(exc, command))
        raise typer.Exit(getattr(exc, "exit_code", 2)) from None


class OneLineUsageGroup(TyperGroup):
    """The ``photolm`` group: usage errors of any command below it as one line."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Any = None, **extra: Any) -> Any:
        with one_line_usage():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with reader_may_leave(), one_line_usage(ctx):
            return super().invoke(ctx)


class OneLineUsageCommand(TyperCommand):
    """A one-command application (``photolm-export``, ``python -m export.descriptor``): its
    usage errors as one line too, as the ``photolm`` group's."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Any = None, **extra: Any) -> Any:
        with one_line_usage(command=info_name if parent is None else None):
            return super().make_context(info_name, args, parent, **extra)


def tool_app(**settings: Any) -> typer.Typer:
    """A typer application set up as every photolm tool's (``trainer``, ``photolm-export``,
    ``python -m export.descriptor|gate|unseen|results``): plain help, ``-h`` as ``--help``, no
    shell completion, no pretty traceback (``reporting`` prints expected failures as one
    line), flags without a type in the help, and usage errors as one ``Error:`` line: a
    group's through :class:`OneLineUsageGroup`; a one-command application's through the
    command's class, which :func:`tool_command` gives it. ``settings``: ``name``, ``help``...
    """
    hide_flag_types()
    defaults: dict[str, Any] = {
        "add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None,
        "context_settings": {"help_option_names": ["-h", "--help"]},
        "cls": OneLineUsageGroup, "no_args_is_help": True,
    }
    return typer.Typer(**{**defaults, **settings})


def tool_command(app: typer.Typer, **settings: Any) -> Any:
    """``app.command`` for a one-command tool: help when run bare, usage errors as one line
    (typer builds such an application from the command alone, so the group's class is not
    used)."""
    return app.command(**{"cls": OneLineUsageCommand, "no_args_is_help": True, **settings})
