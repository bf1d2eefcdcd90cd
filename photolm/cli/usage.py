# SPDX-License-Identifier: GPL-3.0-or-later
"""Typer's usage errors (an unknown option, a value out of range, a missing argument) as one
``Error: ...`` line, like every other photolm error, instead of a usage line, a hint and a
boxed message.

The root command class below is the one place they are caught: the root's own options are
parsed in its ``make_context``, and every command's (``places``' subcommands included) in its
``invoke``, so no command handles them itself. The exit status stays 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

from photolm.cli.output import error_line


def usage_message(exc: typer.TyperException, command: str | None = None) -> str:
    """The error on one line, pointing at ``COMMAND --help``: the failing command's, or
    ``command`` where the error does not say (click's parser leaves the context out of
    "Option '--landmark' requires an argument")."""
    message = " ".join(getattr(exc, "format_message", exc.__str__)().split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        command = ctx.command_path if ctx.command.get_help_option(ctx) is not None else None
    if command is None:
        return message
    end = "" if message.endswith((".", "?", "!")) else "."
    return f"{message}{end} See `{command} --help`."


@contextlib.contextmanager
def one_line_usage(ctx: Any = None) -> Iterator[None]:
    """Turn a usage error raised inside into one line and its exit status; ``ctx``: the
    group's context, whose chosen command a context-less error is pinned on."""
    try:
        yield
    except typer.TyperException as exc:  # typer's (vendored) click.ClickException family
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is the answer, not an error
            raise
        command = None
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
        with one_line_usage(ctx):
            return super().invoke(ctx)
