# SPDX-License-Identifier: GPL-3.0-or-later
"""``--help`` without a type beside on/off flags.

typer 0.29's rich help prints a type for every option, flags included (``--json <bool>``),
as if ``--json`` took a value; its plain help already leaves flags out
(``TyperOption.get_help_record`` skips ``is_flag``). Giving each of photolm's ~25 flags a
blank metavar would fix it only for the flags someone remembers; one rule here keeps every
flag, present and future, honest. Applied when the application is built
(:mod:`photolm.cli.app`); a typer without this method is left alone.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption


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
