# SPDX-License-Identifier: GPL-3.0-or-later
"""``--help`` without a type beside on/off flags, and without Python's list types.

typer 0.29's rich help prints a type for every option, flags included (``--json <bool>``),
as if ``--json`` took a value; its plain help already leaves flags out
(``TyperOption.get_help_record`` skips ``is_flag``). Giving each of photolm's ~25 flags a
blank metavar would fix it only for the flags someone remembers; one rule here keeps every
flag, present and future, honest. It also prints a list's annotation as its type
("PATHS <list[Path]>", "--alias <list[str]>"): an argument that takes several values shows
its one value's type and "..." (``<path>...``), an option that may be repeated the type of
the value it takes each time (``<str>``). Applied when the application is built
(:mod:`photolm.cli.app`); a typer without these methods is left alone.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperArgument, TyperOption

_LIST = re.compile(r"<list\[(\w+)\]>")


def hide_flag_types() -> None:
    """Make the rich help show no type for a flag that takes no value (idempotent)."""
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_photolm_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count and self.metavar is None:
            return None
        return original(self, ctx)

    display_type_rich._photolm_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    _unlist(TyperArgument, "...")
    _unlist(TyperOption, "")


def _unlist(cls: type, many: str) -> None:
    """``cls``' rich help type ``<list[Path]>`` as ``<path>`` followed by ``many``."""
    original = getattr(cls, "display_type_rich", None)
    if original is None or getattr(original, "_photolm_lists", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        shown = original(self, ctx)
        if not isinstance(shown, str):
            return shown
        return _LIST.sub(lambda m: f"<{m.group(1).lower()}>{many}", shown)

    display_type_rich.__dict__.update(original.__dict__)  # the flags' mark, when it has it
    display_type_rich._photolm_lists = True  # type: ignore[attr-defined]
    cls.display_type_rich = display_type_rich  # type: ignore[attr-defined]
