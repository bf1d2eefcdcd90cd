# SPDX-License-Identifier: GPL-3.0-or-later
"""How a path is printed on one line, and how a printed path is read back.

File names may hold any byte but ``/`` and NUL: newlines, tabs, terminal escape sequences,
bytes that are not UTF-8, Unicode's bidirectional controls. Printed raw, a newline splits
one photo's line into two (a pipe promises one line per photo), an escape sequence reaches
the terminal, and a right-to-left override (U+202E) makes ``invoice\\u202egpj.exe`` display
as ``invoiceexe.jpg``, another name (the "Trojan Source" trick). So such characters are
printed as escapes, and for the escapes to be unambiguous a backslash in a name is printed
as ``\\\\``, always: ``a\\nb.jpg`` (a newline) and ``a\\\\nb.jpg`` (a backslash and an
``n``) are two names, never one line for both.

The rule, as ``printf '%b'`` and Python's ``codecs.escape_decode`` read it back to the
name's bytes: ``\\\\`` is a backslash; ``\\n``, ``\\r``, ``\\t`` a newline, carriage return
and tab; ``\\xNN`` one byte (a control character, a line or paragraph separator or a
bidirectional control, written as its UTF-8 bytes, or a byte that is not UTF-8); every
other character is itself.
:func:`read_printed` is the inverse, so a path copied from ``photolm list`` can be given
back to every command that takes paths: :func:`given_paths` is the one rule for reading
them (``scan`` and ``learn`` look on disk, ``tag``, ``untag`` and ``confirm`` in the
catalogue through ``tagging.select_photos``, ``prune`` in both).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escaped(char: str) -> str:
    return "".join(f"\\x{b:02x}" for b in char.encode("utf-8", "surrogateescape"))


# Unicode's Bidi_Control characters (marks, embeddings, overrides, isolates): invisible, yet
# they reorder what a terminal shows around them.
BIDI_CONTROLS = frozenset((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                           *range(0x2066, 0x206A)))
# C0 and C1 control characters and DEL; U+2028/U+2029, which Python's str.splitlines() (and
# so many a script reading a pipe) takes for line ends; the bidirectional controls; the
# surrogates os.fsdecode gives the bytes of a name that are not UTF-8 (each one byte).
_ESCAPES: dict[int, str] = {
    c: _escaped(chr(c))
    for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *sorted(BIDI_CONTROLS),
              *range(0xDC80, 0xDD00))
}
_ESCAPES.update({ord(c): text for c, text in _NAMED.items()})
# The same escapes for a message that already holds a printed path: it stays one line and
# shows no other name, and its backslashes (the printed path's own) are left as they are.
ONE_LINE: dict[int, str] = {c: text for c, text in _ESCAPES.items() if c != ord("\\")}


def printed(path: object) -> str:
    """``path`` (a str, bytes or ``os.PathLike``) as one printable line (see the module
    docstring); a name with none of the characters above prints as it is."""
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    return text.translate(_ESCAPES)


# What ``bytes.decode("utf-8", "backslashreplace")`` (the TEXT older catalogues kept names
# in, older messages) writes for a byte that is not UTF-8: always one of 0x80-0xff.
_REPLACED = re.compile(r"\\x([89a-f][0-9a-f])")


def read_replaced(text: str) -> str:
    """The path whose ``backslashreplace`` form is ``text`` (``os.fsdecode``'s form): how
    photolm read the names catalogues before schema 8 kept only in that form (a scan's
    roots, the RAW a verdict came from), and how schema 8's step rewrites them losslessly
    (:func:`photolm.catalog.paths.as_text`). Only a name that spells such an escape itself
    (a backslash, ``x`` and two hex digits from 8 up) reads back as another name; no other
    backslash is touched."""
    return _REPLACED.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)


_ESCAPE = re.compile(rb"\\(?:x([0-9a-fA-F]{2})|([nrt\\]))|\\")
_BYTES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"\\": b"\\"}


def read_printed(text: str) -> str | None:
    """The path whose :func:`printed` form is ``text`` (``os.fsdecode``'s form); ``None``
    when ``text`` holds no escape, or a backslash that starts none (then it is no printed
    form, only itself)."""
    if "\\" not in text:
        return None
    raw = text.encode("utf-8", "surrogateescape")
    bad = False

    def one(match: re.Match[bytes]) -> bytes:
        nonlocal bad
        if match.group(1) is not None:
            return bytes([int(match.group(1), 16)])
        if match.group(2) is not None:
            return _BYTES[match.group(2)]
        bad = True
        return match.group(0)

    decoded = _ESCAPE.sub(one, raw)
    return None if bad else os.fsdecode(decoded)


def given_paths(paths: Iterable[os.PathLike[str] | str],
                names: Callable[[str], bool] = os.path.lexists) -> list[Path]:
    """The paths a person gave a command, each read as photolm prints it when that form
    ``names`` something (by default: exists on disk), else as it is; ``~`` expanded.

    So a path copied from ``photolm list`` works, and so does a name with a backslash typed
    as it is: ``C:\\new.jpg`` names that file, unless ``C:<newline>ew.jpg`` (whose printed
    form it is) exists too.

    When neither form names anything, the path is the one on disk if only the text is, else
    the printed form's: so a message that the path was not found prints it (:func:`printed`)
    as it was typed, not with its backslashes doubled.
    """
    chosen = []
    for given in paths:
        text = os.path.expanduser(os.fspath(given))
        copied = read_printed(text)
        if copied is None or names(copied):
            chosen.append(Path(text if copied is None else copied))
        elif names(text) or (os.path.lexists(text) and not os.path.lexists(copied)):
            chosen.append(Path(text))
        else:
            chosen.append(Path(copied))
    return chosen
