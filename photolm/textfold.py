# SPDX-License-Identifier: GPL-3.0-or-later
"""Fold what people type, in any script, into one comparable form.

Split from :mod:`photolm.names` (the index and search): this module knows about scripts
(accents, kana voicing marks, the Indic virama and vowel signs, letters typed
interchangeably, Chinese/Japanese/Korean word density), the index only about comparing the
folded strings. Both sides of every comparison go through :func:`normalise`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_APOSTROPHE_CHARS = "'’ʼ`´"
# Letters people type interchangeably: Devanagari candrabindu as anusvara ("हुमायूँ"),
# Arabic taa marbuta and alef maqsura as heh and yeh at the end of a word ("قبه الصخره"),
# and the Persian/Urdu forms of yeh, keheh and heh as the Arabic ones.
_LETTER_FOLD = str.maketrans({"\u0901": "\u0902", "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك",
                              "ہ": "ه", "ۃ": "ه"})
_APOSTROPHES = str.maketrans("", "", _APOSTROPHE_CHARS)
# Combining marks that change the letter rather than accent it: kana voicing marks (ブ vs フ)
# and the virama of Indic scripts (हिन्दी: the conjunct is part of the spelling).
_KEPT_MARKS = frozenset(
    "\u3099\u309a\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d4d"
)
_NON_WORD = re.compile(r"[\W_]+")
# Separators in any script: what ``re`` calls non-word, except the blocks whose vowel signs
# and other marks are letters of a word to their readers (Indic scripts, Thai, Lao,
# Tibetan, Myanmar, Khmer; their dandas stay separators) and the kana voicing marks.
_SEPARATORS = re.compile(
    "[^\\w\u0900-\u0963\u0966-\u0dff\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff"
    "\u3099\u309a]+|_+"
)
# Chinese, Japanese and Korean pack a word into one or two characters: "大钟" (a big clock)
# is 80 % similar to "大本钟" (Big Ben) by character counts. Queries in these scripts
# shorter than this match only exactly; from this length a name containing the query counts
# ("金字塔", pyramid, finds "吉萨金字塔").
DENSE_MIN = 3
_DENSE_RANGES = ((0x1100, 0x11FF), (0x3040, 0x30FF), (0x3130, 0x318F), (0x3400, 0x4DBF),
                 (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF))


# Unicode's Latin blocks past ASCII (Latin-1 Supplement to Extended-G, IPA, phonetic).
_LATIN_BLOCKS = ((0x00C0, 0x02AF), (0x1D00, 0x1DBF), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F),
                 (0xA720, 0xA7FF), (0xAB30, 0xAB6F), (0x10780, 0x107BF), (0x1DF00, 0x1DFFF))


@lru_cache(maxsize=1)
def latin_spellings() -> dict[int, str]:
    """The Latin letters that decomposing cannot bring to ASCII, with the ASCII spelling
    readers use for them (anyascii's): "Ø" -> "O", "ß" -> "ss", "Ł" -> "L", "æ" -> "ae",
    "đ" -> "d", "ı" -> "i", "þ" -> "th". NFKD brings "é" to "e" but leaves these as they are,
    so "Øresund" and "Oresund" would be two names. Only these letters: every other letter,
    accented Latin or another script, folds as it always did, so ids and search keys that do
    not contain one are unchanged. Built once (a few ms) as a ``str.translate`` table."""
    from anyascii import anyascii

    table: dict[int, str] = {}
    for low, high in _LATIN_BLOCKS:
        for cp in range(low, high + 1):
            ch = chr(cp)
            if not unicodedata.name(ch, "").startswith("LATIN"):
                continue
            base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                           if not unicodedata.combining(c))
            spelled = anyascii(ch)
            if not base.isascii() and spelled and spelled.isascii():
                table[cp] = spelled
    return table


def latin_ascii(text: str) -> str:
    """``text`` with each letter of :func:`latin_spellings` spelled in ASCII
    ("Øresund Bridge" -> "Oresund Bridge"); anything else as it is."""
    return text if text.isascii() else text.translate(latin_spellings())


def ascii_slug(text: str, empty: str, limit: int = 60) -> str:
    """A lower-case ASCII slug for a folder or an id: "Øresund Bridge" -> "oresund-bridge",
    "Cầu Rồng" -> "cau-rong"; ``empty`` when nothing ASCII is left ("老桥")."""
    plain = unicodedata.normalize("NFKD", latin_ascii(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:limit].strip("-") or empty


@lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Fold case, accents and punctuation so that "Kölner-Dom" equals "kolner dom", and
    the Latin letters accents cannot explain (:func:`latin_ascii`): "Øresund" = "oresund".

    NFKD, casefold, NFKD again: the first NFKD turns compatibility letters into plain ones
    (pasted "fancy text" such as "𝐄𝐢𝐟𝐟𝐞𝐥", or "ℌ", and half-width katakana), casefolding can
    itself produce combining marks ("İ" -> "i̇"), which the second NFKD separates. Then
    accents are dropped ("é", Arabic vowel points, the Devanagari nukta that people often
    leave out) but not the marks that make a different letter: the kana voicing marks
    ("ブ" is not "フ") and the Indic virama; letters typed interchangeably are folded
    (:data:`_LETTER_FOLD`: "हुमायूँ" = "हुमायूं", "قبة" = "قبه"). Vowel signs of Indic
    scripts are marks too and are letters of the word, never separators (treating every
    non-word character as a separator, as ``re`` and rapidfuzz's ``default_process`` do,
    cut "एफ़िल" into "एफ ल").
    NFC at the end recomposes Hangul syllables, so a Korean word keeps its length.
    Plain ASCII skips the Unicode steps (most names are ASCII; this halves the index build
    time). Cached because place fields repeat ("India" two dozen times).
    """
    if text.isascii():
        return _NON_WORD.sub(" ", text.lower().translate(_APOSTROPHES)).strip()
    compatible = unicodedata.normalize("NFKD", latin_ascii(text))
    decomposed = unicodedata.normalize("NFKD", compatible.casefold())
    folded = _accents().sub("", decomposed).translate(_LETTER_FOLD)
    kept = _SEPARATORS.sub(" ", folded)
    return " ".join(unicodedata.normalize("NFC", kept).split())


@lru_cache(maxsize=1)
def _accents() -> re.Pattern[str]:
    """Apostrophes and accents: combining marks with a combining class, in the blocks where
    scripts keep them, except _KEPT_MARKS. One compiled character class (~1 ms, once), so
    folding runs in C instead of testing every character in Python."""
    ranges = ((0x0300, 0x0FFF), (0x1AB0, 0x1DFF), (0x20D0, 0x20FF), (0x3099, 0x309A),
              (0xFE20, 0xFE2F))
    marks = "".join(chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1)
                    if unicodedata.combining(chr(cp)) and chr(cp) not in _KEPT_MARKS)
    return re.compile(f"[{re.escape(marks + _APOSTROPHE_CHARS)}]")


def is_dense(text: str) -> bool:
    """Whether ``text`` is written (partly) in Chinese, Japanese or Korean script."""
    return any(lo <= ord(ch) <= hi for ch in text if ord(ch) >= 0x1100
               for lo, hi in _DENSE_RANGES)
