# SPDX-License-Identifier: GPL-3.0-or-later
"""A landmark's aliases in one ``classes.csv`` cell: the format ``photolm export-dataset``
writes and ``trainer fit`` reads (trainer/data.py), defined once here.

The shared data sets separate aliases with ``;`` (``|`` is read as one too) and have no
escapes, so that stays: they read exactly as before. An alias photolm holds may contain
either separator itself ("Notre-Dame; Paris" typed as one ``--alias``, or stored before
this rule): it is written with a backslash before the separator (``\\;``, ``\\|``, and
``\\\\`` for a backslash), so the trainer gets exactly the aliases photolm has rather than
two halves of one. Escaping rather than refusing such an alias at ``learn`` time keeps every
alias photolm already holds, a shipped bundle's included, exact through the round trip; a
backslash before any other character is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SEPARATOR = ";"
_SPECIAL = re.compile(r"([\\;|])")
_TOKEN = re.compile(r"\\([\\;|])|[;|]")


def join_aliases(aliases: Iterable[str]) -> str:
    """The cell for ``aliases``: ``"Alte Brücke;Ponte\\; Vecchio"``."""
    return SEPARATOR.join(_SPECIAL.sub(r"\\\1", alias) for alias in aliases)


def split_aliases(cell: str) -> list[str]:
    """The aliases of a cell, each stripped, empty ones left out (``"a; b;;"`` -> a, b)."""
    parts: list[str] = []
    current, start = "", 0
    for match in _TOKEN.finditer(cell):
        current += cell[start:match.start()]
        if match.group(1) is not None:  # an escaped character, part of the alias
            current += match.group(1)
        else:
            parts.append(current)
            current = ""
        start = match.end()
    parts.append(current + cell[start:])
    return [part.strip() for part in parts if part.strip()]
