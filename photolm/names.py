# SPDX-License-Identifier: GPL-3.0-or-later
"""Find landmarks by what a traveller types: names, aliases, cities, countries, with typos.

``photolm search "Eiffel Tower"`` must work without loading the ONNX model, so this module
only needs the landmark records (from the bundle or the catalogue's ``landmarks`` table).

How a query is answered, in order of trust:

1. **exact** — the normalised query equals a normalised name or alias ("EIFFEL TOWER",
   "Tour Eiffel", "Kolner Dom" for "Kölner Dom", "tajmahal" for "Taj Mahal"). Only those
   landmarks are returned: a precise question should not drag in fuzzy neighbours such as
   "Leaning Tower of Pisa".
2. **place** — the query names a city or country ("Paris", "india", "New Delhi"): every
   landmark there is returned. Place fields are messy ("New Delhi (Qutb complex, Mehrauli)"),
   so they are split into parts at commas and brackets and a query may equal a part, be a
   whole-word phrase inside one, or be a close typo of one.
3. **fuzzy** — typo-tolerant matching against names and aliases ("eifel tower",
   "colloseum", "statue liberty"). rapidfuzz's ``WRatio`` alone was too generous here: its
   partial matching scores "eifel tower" against "Leaning Tower of Pisa" at 85 and "cat"
   against every "cathedral" at 90. Instead a choice scores the best of (a) whole-string
   similarity and (b) *word cover*: every query word must match a word of the choice (short
   words exactly, longer ones within a small typo distance).

Place and fuzzy hits are merged (one entry per landmark, best tier wins) and ordered by tier,
then score. Normalisation (NFKD, combining marks dropped, casefold, apostrophes removed, other
punctuation collapsed to single spaces) is applied to both sides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

from rapidfuzz import fuzz, process

from photolm.errors import UsageError

if TYPE_CHECKING:  # only attributes are used: keeps numpy out of `photolm search`'s imports
    from photolm.bundle import Landmark

Field = Literal["name", "alias", "city", "country"]

# Tuned on the real class lists in shared/data (see tests/test_names.py): 80 keeps
# "colloseum" -> Colosseum (88.9) and "big bem" -> Big Ben (85.7) while "paris", "rome",
# "cat" or "xyzzy" match no landmark name.
FUZZY_CUTOFF = 80.0
PLACE_FUZZY_CUTOFF = 80.0
_WORD_SIMILARITY = 80.0  # a query word of 4+ letters may differ this much from a name word
_SHORT_WORD = 3  # words this short must match exactly ("taj", "cat")
_WORD_COVER_SCALE = 0.9  # word cover ranks below a whole-name match of the same quality

_TIER_EXACT, _TIER_PLACE, _TIER_FUZZY = 0, 1, 2
_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")
_NON_WORD = re.compile(r"[\W_]+")
_PLACE_SPLIT = re.compile(r"[(),;/]")
_FIELD_RANK = {"name": 0, "alias": 1, "city": 2, "country": 3}
_STOPWORDS = frozenset({"the", "of", "de", "la", "le", "di", "del", "and", "in", "at"})
# resolve(): a fuzzy best must lead the runner-up by this much to count as the one meant.
RESOLVE_MARGIN = 5.0


@lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Fold case, accents and punctuation so that "Kölner-Dom" equals "kolner dom".

    NFKD, casefold, NFKD again: the first NFKD turns compatibility letters into plain ones
    (pasted "fancy text" such as "𝐄𝐢𝐟𝐟𝐞𝐥", or "ℌ", would otherwise come out upper-case),
    casefolding can itself produce combining marks ("İ" -> "i̇"), which the second NFKD
    separates and the next step drops. Plain ASCII skips the Unicode steps (most names are
    ASCII; this halves the index build time). Cached because place fields repeat ("India"
    two dozen times).
    """
    if text.isascii():
        folded = text.lower()
    else:
        compatible = unicodedata.normalize("NFKD", text)
        decomposed = unicodedata.normalize("NFKD", compatible.casefold())
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", folded.translate(_APOSTROPHES)).strip()


@dataclass(frozen=True)
class NameMatch:
    """One landmark answering a query, and why (``field`` + ``matched_text``)."""

    landmark_id: str
    name: str
    matched_text: str
    field: Field
    score: float  # 0..100; ordering is by tier (exact > place > fuzzy), then score


class _Entry(NamedTuple):  # a NamedTuple: ~500 per index, builds 3x faster than a dataclass
    landmark: int  # index into LandmarkIndex._landmarks
    field: Field
    text: str  # original spelling, shown to the user


class LandmarkIndex:
    """An immutable search index over a bundle's landmarks (~1.3 ms to build for 100)."""

    def __init__(self, landmarks: Sequence[Landmark]) -> None:
        self._landmarks: tuple[Landmark, ...] = tuple(landmarks)
        self._by_id = {lm.id: lm for lm in self._landmarks}
        names: dict[str, list[_Entry]] = {}
        places: dict[str, list[_Entry]] = {}
        for i, lm in enumerate(self._landmarks):
            seen: set[str] = set()
            texts: list[tuple[Field, str]] = [("name", lm.name)]
            texts += [("alias", a) for a in lm.aliases]
            for fld, text in texts:
                key = normalise(text)
                if key and key not in seen:
                    seen.add(key)
                    names.setdefault(key, []).append(_Entry(i, fld, text))
            place_fields: tuple[tuple[Field, str | None], ...] = (
                ("city", lm.city),
                ("country", lm.country),
            )
            for fld, place in place_fields:
                for key in _place_keys(place):
                    places.setdefault(key, []).append(_Entry(i, fld, place or ""))
        self._names = names
        self._name_keys = list(names)
        self._compact: dict[str, list[_Entry]] = {}
        for key, entries in names.items():
            self._compact.setdefault(key.replace(" ", ""), []).extend(entries)
        self._places = places
        self._place_keys = list(places)
        # word -> indexes of name keys containing it, for the word-cover score
        self._words: dict[str, set[int]] = {}
        for n, key in enumerate(self._name_keys):
            for word in key.split():
                self._words.setdefault(word, set()).add(n)
        self._vocabulary = list(self._words)

    def __len__(self) -> int:
        return len(self._landmarks)

    def landmark(self, landmark_id: str) -> Landmark | None:
        """The record of a landmark id, or ``None`` if this index does not know it."""
        return self._by_id.get(landmark_id)

    def search(self, query: str, limit: int | None = None) -> list[NameMatch]:
        """Landmarks answering ``query``, best first; ``[]`` when nothing is close enough."""
        q = normalise(query)
        if not q:
            return []
        exact = self._names.get(q) or self._compact.get(q.replace(" ", ""))
        if exact:
            best = _best_per_landmark((_TIER_EXACT, 100.0, e) for e in exact)
        else:
            hits = list(self._place_hits(q))
            hits += self._fuzzy_hits(q)
            best = _best_per_landmark(hits)
        ranked = sorted(
            best,
            key=lambda h: (
                h[0], -h[1], _FIELD_RANK[h[2].field], self._landmarks[h[2].landmark].name.casefold()
            ),
        )
        matches = [
            NameMatch(
                landmark_id=self._landmarks[e.landmark].id,
                name=self._landmarks[e.landmark].name,
                matched_text=e.text,
                field=e.field,
                score=round(score, 1),
            )
            for _, score, e in ranked
        ]
        return matches if limit is None else matches[:limit]

    def suggest(self, query: str, n: int = 5) -> list[str]:
        """Display names closest to ``query``, for a "did you mean ...?" line.

        Unlike :meth:`search` there is no cut-off: the point is to offer *something* even
        for "xyzzy". ``WRatio``'s generosity with partial matches is welcome here.
        """
        q = normalise(query)
        if not q or n <= 0:
            return []
        out: list[str] = []
        for key, _score, _ in process.extract(q, self._name_keys, scorer=fuzz.WRatio,
                                             limit=None):
            for entry in self._names[key]:
                name = self._landmarks[entry.landmark].name
                if name not in out:
                    out.append(name)
            if len(out) >= n:
                break
        return out[:n]

    def resolve(self, name: str) -> Landmark:
        """The one landmark a person means by ``name`` (``photolm confirm --landmark``).

        The same matching as :meth:`search`, but a person's correction must name exactly one
        landmark: a city or country ("Paris") is refused, and so is a typo equally close to
        several names ("tower"). Raises :class:`~photolm.errors.UsageError` with one line
        that lists what was meant to be chosen from, or the closest names.
        """
        hits = self.search(name)
        named = [h for h in hits if h.field in ("name", "alias")]
        if not named:
            if hits:
                there = ", ".join(dict.fromkeys(h.name for h in hits[:5]))
                raise UsageError(f"{name!r} is a place, not a landmark; landmarks there: "
                                 f"{there}. Give the landmark's name.")
            suggestions = self.suggest(name)
            hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
            raise UsageError(f"No landmark of the model is called {name!r}.{hint}")
        best = named[0]
        if len(named) == 1 or named[1].score <= best.score - RESOLVE_MARGIN:
            found = self.landmark(best.landmark_id)
            if found is not None:
                return found
        choices = ", ".join(dict.fromkeys(h.name for h in named[:5]))
        raise UsageError(f"{name!r} could be {choices}; give the full name.")

    def _place_hits(self, q: str) -> Iterable[tuple[int, float, _Entry]]:
        padded = f" {q} "
        for key, entries in self._places.items():
            if key == q:
                score = 95.0
            elif len(q) >= _SHORT_WORD and padded in f" {key} ":
                score = 90.0
            else:
                continue
            for entry in entries:
                yield _TIER_PLACE, score, entry
        if len(q) > _SHORT_WORD + 1:
            for key, score, _ in process.extract(q, self._place_keys, scorer=fuzz.ratio,
                                                 score_cutoff=PLACE_FUZZY_CUTOFF, limit=None):
                for entry in self._places[key]:
                    yield _TIER_PLACE, 0.9 * score, entry

    def _fuzzy_hits(self, q: str) -> list[tuple[int, float, _Entry]]:
        scores: dict[int, float] = {}
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
            for _, score, n in process.extract(q, self._name_keys, scorer=scorer,
                                               score_cutoff=FUZZY_CUTOFF, limit=None):
                scores[n] = max(scores.get(n, 0.0), score)
        for n, score in self._word_cover(q).items():
            scores[n] = max(scores.get(n, 0.0), score)
        return [
            (_TIER_FUZZY, score, entry)
            for n, score in scores.items()
            if score >= FUZZY_CUTOFF
            for entry in self._names[self._name_keys[n]]
        ]

    def _word_cover(self, q: str) -> dict[int, float]:
        """Name keys containing (a close spelling of) every query word, scored by the worst.

        Stop words are ignored, so "tower of pisa" needs no "of"; a query of nothing but
        stop words ("the") covers nothing rather than half the index.
        """
        words = [w for w in q.split() if w not in _STOPWORDS]
        if not words:
            return {}
        covered: dict[int, float] | None = None
        for word in words:
            best: dict[int, float] = {}
            if len(word) <= _SHORT_WORD:
                candidates = [(word, 100.0)] if word in self._words else []
            else:
                candidates = [
                    (w, s)
                    for w, s, _ in process.extract(word, self._vocabulary, scorer=fuzz.ratio,
                                                   score_cutoff=_WORD_SIMILARITY, limit=None)
                ]
            for vocab_word, sim in candidates:
                for n in self._words[vocab_word]:
                    best[n] = max(best.get(n, 0.0), sim)
            if covered is None:
                covered = best
            else:
                covered = {n: min(s, best[n]) for n, s in covered.items() if n in best}
            if not covered:
                return {}
        return {n: _WORD_COVER_SCALE * s for n, s in (covered or {}).items()}


@lru_cache(maxsize=4096)
def _place_keys(text: str | None) -> tuple[str, ...]:
    """Normalised parts of a place field: the whole and each comma/bracket-separated piece.

    Cached: place fields repeat (two dozen landmarks in "India").
    """
    if not text:
        return ()
    keys = [normalise(text), *(normalise(part) for part in _PLACE_SPLIT.split(text))]
    return tuple(dict.fromkeys(k for k in keys if k))


def _best_per_landmark(
    hits: Iterable[tuple[int, float, _Entry]],
) -> list[tuple[int, float, _Entry]]:
    """Keep one hit per landmark: lowest tier, then highest score, then name over alias."""
    best: dict[int, tuple[int, float, _Entry]] = {}
    for hit in hits:
        tier, score, entry = hit
        current = best.get(entry.landmark)
        if current is None or (tier, -score, _FIELD_RANK[entry.field]) < (
            current[0], -current[1], _FIELD_RANK[current[2].field]
        ):
            best[entry.landmark] = hit
    return list(best.values())
