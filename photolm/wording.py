# SPDX-License-Identifier: GPL-3.0-or-later
"""A count and the words that agree with it: "1 class has", "3 classes have".

Messages are built around counts that are often 1 (one class too small, one photo that
would not decode, one thread); "1 classes" reads as a program that did not look. One rule
here rather than an ``"s" if n != 1`` at every message.
"""

from __future__ import annotations

# Singular -> plural of the verbs messages use after a count; others drop their final "s".
_VERBS = {"has": "have", "is": "are", "was": "were"}
# Nouns the spelling rule below gets wrong ("ch" said as "k").
_NOUNS = {"epoch": "epochs"}


def counted(count: int, noun: str, verb: str = "", *, plural: str | None = None) -> str:
    """``count`` with ``noun`` (and ``verb``, given in its singular form) agreeing with it:
    ``counted(2, "class", "has")`` is ``"2 classes have"``. ``plural``: an irregular
    plural of ``noun``."""
    one = count == 1
    text = f"{count} {noun if one else plural or _plural(noun)}"
    if verb:
        text += " " + (verb if one else _VERBS.get(verb, verb[:-1] if verb.endswith("s")
                                                    else verb))
    return text


def _plural(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if last in _NOUNS:
        return f"{head} {_NOUNS[last]}".lstrip()
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"
