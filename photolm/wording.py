# SPDX-License-Identifier: GPL-3.0-or-later
"""A count and the words that agree with it: "1 class has", "3 classes have"; a score and
the threshold it was held against, printed so that they read as different when they are.

Messages are built around counts that are often 1 (one class too small, one photo that
would not decode, one thread); "1 classes" reads as a program that did not look. One rule
here rather than an ``"s" if n != 1`` at every message. Likewise a photo that missed the
threshold by 0.004 must not read "0.70, below the threshold 0.70": :func:`apart`.
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


def decimals(score: float | None, against: float | None, *, least: int = 2) -> int:
    """The fewest decimals (``least`` or more) at which ``score`` and ``against`` print
    differently; ``least`` when either is unknown or they are equal. 17 decimals tell any
    two different floats apart, so the loop ends."""
    digits = least
    if score is None or against is None or float(score) == float(against):
        return digits
    while digits < 17 and f"{score:.{digits}f}" == f"{against:.{digits}f}":
        digits += 1
    return digits


def apart(score: float, against: float | None, *, least: int = 2) -> tuple[str, str]:
    """``score`` and ``against`` (a threshold, a gate) as text with :func:`decimals`
    decimals: ``("0.696", "0.700")``, not ``("0.70", "0.70")``. ``against`` unknown: ``""``
    for it, ``score`` with ``least`` decimals."""
    n = decimals(score, against, least=least)
    return f"{score:.{n}f}", "" if against is None else f"{against:.{n}f}"
