# SPDX-License-Identifier: GPL-3.0-or-later
"""Find landmarks by what a traveller types: names, aliases, cities, countries, with typos.

``photolm search "Eiffel Tower"`` must work without loading the ONNX model, so this module
only needs the landmark records (from the bundle or the catalogue's ``landmarks`` table).

How a query is answered, in order of trust:

1. **exact** — the normalised query equals a normalised name or alias ("EIFFEL TOWER",
   "Tour Eiffel", "Kolner Dom" for "Kölner Dom", "tajmahal" for "Taj Mahal"). Only those
   landmarks are returned: a precise question should not drag in fuzzy neighbours such as
   "Leaning Tower of Pisa".
2. **place** — the query names a city, region or country ("Paris", "india"): every
   landmark there is returned. Place fields are messy ("New Delhi (Qutb complex, Mehrauli)"),
   so they are split into parts at commas and brackets and a query may equal a part, be a
   whole-word phrase inside one, or be a close typo of one.
3. **fuzzy** — typo-tolerant matching against names and aliases ("eifel tower",
   "colloseum", "statue liberty"). rapidfuzz's ``WRatio`` alone was too generous here: its
   partial matching scores "eifel tower" against "Leaning Tower of Pisa" at 85 and "cat"
   against every "cathedral" at 90. Instead a choice scores the best of (a) whole-string
   similarity and (b) *word cover*: every query word must match a word of the choice (short
   words exactly, longer ones within a small typo distance; a word may also be the
   landmark's city or country, "big ben london"). Chinese, Japanese and Korean pack a word
   into a character or two, so there a query under three characters must match exactly.

Names in every script are matched (the shipped bundle carries names in a dozen languages:
"埃菲尔铁塔", "एफिल टावर", "برج إيفل"). A query that matches nothing gets "did you mean"
suggestions only when something is genuinely close (:meth:`LandmarkIndex.suggest`);
otherwise the answer is that the model does not know it.

Place and fuzzy hits are merged (one entry per landmark, best tier wins) and ordered by tier,
then score. Normalisation (:func:`photolm.textfold.normalise`: case, accents and
punctuation folded, the letters of every script kept) is applied to both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Literal, NamedTuple

from rapidfuzz import fuzz, process

from photolm.bundle_records import LEARNED_PREFIX
from photolm.errors import NotKnownError, UsageError
from photolm.textfold import DENSE_MIN, is_dense, normalise
from photolm.wording import counted

if TYPE_CHECKING:  # only attributes are used: keeps numpy out of `photolm search`'s imports
    from photolm.bundle import Landmark

Field = Literal["name", "alias", "city", "region", "country"]

# Tuned on the real class lists in shared/data (see tests/test_names.py): 80 keeps
# "colloseum" -> Colosseum (88.9) and "big bem" -> Big Ben (85.7) while "paris", "rome",
# "cat" or "xyzzy" match no landmark name.
FUZZY_CUTOFF = 80.0
PLACE_FUZZY_CUTOFF = 80.0
_WORD_SIMILARITY = 80.0  # a query word of 4+ letters may differ this much from a name word
_SHORT_WORD = 3  # words this short must match exactly ("taj", "cat")
_WORD_COVER_SCALE = 0.9  # word cover ranks below a whole-name match of the same quality

_TIER_EXACT, _TIER_PLACE, _TIER_FUZZY = 0, 1, 2
_PLACE_SPLIT = re.compile(r"[(),;/]")
_FIELD_RANK = {"name": 0, "alias": 1, "city": 2, "region": 3, "country": 4}
_PLACE_FIELDS = frozenset({"city", "region", "country"})
_STOPWORDS = frozenset({"the", "of", "de", "la", "le", "di", "del", "and", "in", "at"})
# resolve(): a fuzzy best must lead the runner-up by this much to count as the one meant.
RESOLVE_MARGIN = 5.0
# "Did you mean ...?" offers a name only this close to the query (0..100): whole strings by
# rapidfuzz's ratio, or query words by ratio (see LandmarkIndex.suggest). Measured on the
# shipped landmarks: "Edinburgh Castle" scores at most 52 on any name, "Tower Bridge" 56,
# "Golden Gate Bridge" 65, while a name with two typos and a word too many stays above 70
# (tests/test_names_cli.py, tests/test_names.py hold both sides).
SUGGEST_FLOOR = 70.0
_SUGGEST_WORD = 77.0  # query words this similar to a name's word count as that word, but
_SUGGEST_WORD_LEN = 6  # only from this length: "petra" is 80 % "opera", "dame" 75 % "dome"
_DISTINCTIVE = 2  # a word in more landmarks' names than this ("tower") proves nothing alone


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
    """An immutable search index over a bundle's landmarks (build cost: docs/performance.md)."""

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
                ("region", lm.region),
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

    # The word tables below serve typo-tolerant matching only: built on first use, so an
    # exact name ("Eiffel Tower", the common case) never pays for them.

    @cached_property
    def _place_aliases(self) -> dict[str, str]:
        """"巴黎" -> "paris": other names of the places this index has (the query is
        translated, rather than every landmark entry copied under a dozen names)."""
        places = self._places
        return {other: key for key, others in _place_names().items() if key in places
                for other in others}

    @cached_property
    def _words(self) -> dict[str, set[int]]:
        """Word -> indexes of the name keys containing it, for the word-cover score."""
        words: dict[str, set[int]] = {}
        for n, key in enumerate(self._name_keys):
            for word in key.split():
                words.setdefault(word, set()).add(n)
        return words

    @cached_property
    def _vocabulary(self) -> list[str]:
        return list(self._words)

    @cached_property
    def _key_landmarks(self) -> list[set[int]]:
        return [{e.landmark for e in self._names[key]} for key in self._name_keys]

    @cached_property
    def _name_key_of(self) -> dict[int, int]:
        """Landmark -> the index of its own name's key."""
        position = {key: n for n, key in enumerate(self._name_keys)}
        return {i: position[normalise(lm.name)]
                for i, lm in enumerate(self._landmarks) if normalise(lm.name) in position}

    @cached_property
    def _place_words(self) -> dict[str, set[int]]:
        """Word of a city / region / country -> landmarks there, for "big ben london"."""
        words: dict[str, set[int]] = {}
        for key, entries in self._places.items():
            owners = {e.landmark for e in entries}
            for word in key.split():
                if word not in _STOPWORDS:
                    words.setdefault(word, set()).update(owners)
        return words

    @cached_property
    def _place_vocabulary(self) -> list[str]:
        return list(self._place_words)

    @cached_property
    def _word_landmarks(self) -> dict[str, int]:
        """How many landmarks use each word in a name or alias ("tower": Eiffel, Pisa...)."""
        return {word: len(set().union(*(self._key_landmarks[n] for n in keys)))
                for word, keys in self._words.items()}

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
        """Display names close enough to ``query`` for a "did you mean ...?" line; often none.

        Closer than search's cut-off would have been a match; this goes a little further
        but not to "something": a name is offered when the whole query is within
        :data:`SUGGEST_FLOOR` of it, or when at least half of the query's words are close
        spellings of the name's words and one of them is distinctive ("colosiumx arena"
        -> Colosseum). "Edinburgh Castle" or "Tower Bridge" get nothing: the model does not
        know them, and "Eiffel Tower" for the latter would only mislead.
        """
        q = normalise(query)
        compact = q.replace(" ", "")
        if not q or n <= 0 or (is_dense(q) and len(compact) < DENSE_MIN):
            return []
        scores: dict[int, float] = {}
        # ratio only: token_sort_ratio sorts "el castillo" to "castillo el", 71 from "castle"
        for _, score, k in process.extract(q, self._name_keys, scorer=fuzz.ratio,
                                           score_cutoff=SUGGEST_FLOOR, limit=None):
            scores[k] = score
        for k, score in self._words_close_to(q).items():
            scores.setdefault(k, score)
        out: list[str] = []
        for k in sorted(scores, key=lambda k: (-scores[k], self._name_keys[k])):
            for entry in self._names[self._name_keys[k]]:
                name = self._landmarks[entry.landmark].name
                if name not in out:
                    out.append(name)
        return out[:n]

    def did_you_mean(self, query: str) -> str:
        """"Did you mean Colosseum?" for the names :meth:`suggest` offers; "" for none."""
        suggestions = self.suggest(query)
        return f"Did you mean {_and_list(suggestions, or_=True)}?" if suggestions else ""

    def unknown(self, query: str) -> str:
        """One line for a query that matched nothing. "The model does not know" only while
        every known landmark is the model's: with landmarks taught by ``photolm learn`` in
        the index too, the line says photolm, and counts both kinds."""
        if not self._landmarks:
            return "No landmarks are known yet: run `photolm scan` on your photos first."
        learned = sum(lm.id.startswith(LEARNED_PREFIX) for lm in self._landmarks)
        who = "photolm does" if learned else "The model does"
        guess = self.did_you_mean(query)
        if guess:
            return f"{who} not know {query!r}. {guess}"
        among = f"{counted(len(self), 'landmark')} it recognises"
        if learned:
            among += f", {len(self) - learned} from the model and {learned} you taught it"
        return (f"{who} not know {query!r}: no landmark, city or country of that name among "
                f"the {among} (photolm landmarks lists them).")

    def resolve(self, name: str) -> Landmark:
        """The one landmark a person means by ``name`` (``photolm confirm --landmark``).

        The same matching as :meth:`search`, but a person's correction must name exactly one
        landmark: a city or country ("Paris") is refused, and so is a typo equally close to
        several names ("tower"). Raises :class:`~photolm.errors.NotKnownError` with one
        line that lists what was meant to be chosen from, or the closest names (the name
        was typed well; it names no one landmark), and
        :class:`~photolm.errors.UsageError` for an empty name.
        """
        if not normalise(name):
            raise UsageError("Give the landmark's name, e.g. --landmark \"Eiffel Tower\".")
        hits = self.search(name)
        named = [h for h in hits if h.field in ("name", "alias")]
        if not named:
            if hits:
                there = ", ".join(dict.fromkeys(h.name for h in hits[:5]))
                raise NotKnownError(f"{name!r} is a place, not a landmark; landmarks there: "
                                    f"{there}. Give the landmark's name.")
            raise NotKnownError(self.unknown(name))
        best = named[0]
        if len(named) == 1 or named[1].score <= best.score - RESOLVE_MARGIN:
            found = self.landmark(best.landmark_id)
            if found is not None:
                return found
        choices = ", ".join(dict.fromkeys(h.name for h in named[:5]))
        raise NotKnownError(f"{name!r} could be {choices}; give the full name.")

    def _place_hits(self, q: str) -> Iterable[tuple[int, float, _Entry]]:
        if q not in self._places:
            q = self._place_aliases.get(q, q)
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
        compact = q.replace(" ", "")
        dense = is_dense(q)
        if not dense or len(compact) >= DENSE_MIN:
            for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
                for _, score, n in process.extract(q, self._name_keys, scorer=scorer,
                                                   score_cutoff=FUZZY_CUTOFF, limit=None):
                    scores[n] = max(scores.get(n, 0.0), score)
        if dense and len(compact) >= DENSE_MIN:  # no spaces between words to cover
            for n, key in enumerate(self._name_keys):
                if compact in key.replace(" ", ""):
                    scores[n] = max(scores.get(n, 0.0), _WORD_COVER_SCALE * 100.0)
        for n, score in self._word_cover(q).items():
            scores[n] = max(scores.get(n, 0.0), score)
        return [
            (_TIER_FUZZY, score, entry)
            for n, score in scores.items()
            if score >= FUZZY_CUTOFF
            for entry in self._names[self._name_keys[n]]
        ]

    def _words_close_to(self, q: str) -> dict[int, float]:
        """Name keys whose words closely spell at least half of the query's words, one of
        them distinctive; scored by the mean similarity over all query words."""
        words = [w for w in q.split() if w not in _STOPWORDS]
        covered: dict[int, dict[str, float]] = {}
        distinctive: set[int] = set()
        for word in words:
            if len(word) < _SUGGEST_WORD_LEN:
                candidates = [(word, 100.0)] if word in self._words else []
            else:
                candidates = [
                    (w, s)
                    for w, s, _ in process.extract(word, self._vocabulary, scorer=fuzz.ratio,
                                                   score_cutoff=_SUGGEST_WORD, limit=None)
                ]
            for vocab_word, sim in candidates:
                for n in self._words[vocab_word]:
                    best = covered.setdefault(n, {})
                    best[word] = max(best.get(word, 0.0), sim)
                    if self._word_landmarks[vocab_word] <= _DISTINCTIVE:
                        distinctive.add(n)
        return {
            n: sum(sims.values()) / len(words)
            for n, sims in covered.items()
            if n in distinctive and 2 * len(sims) >= len(words)
        }

    def _word_cover(self, q: str) -> dict[int, float]:
        """Name keys containing (a close spelling of) every query word, scored by the worst.

        A word may also be covered by the landmark's city, region or country, as long as
        one word names the landmark: "saint basil moscow", "big ben london". Stop words are
        ignored, so "tower of pisa" needs no "of"; a query of nothing but stop words
        ("the") covers nothing rather than half the index.
        """
        words = [w for w in q.split() if w not in _STOPWORDS]
        if not words:
            return {}
        per_word: list[tuple[dict[int, float], dict[int, float]]] = []
        for word in words:
            best: dict[int, float] = {}
            for vocab_word, sim in _close_words(word, self._vocabulary, self._words):
                for n in self._words[vocab_word]:
                    best[n] = max(best.get(n, 0.0), sim)
            place: dict[int, float] = {}
            for place_word, sim in _close_words(word, self._place_vocabulary,
                                                self._place_words):
                for i in self._place_words[place_word]:
                    place[i] = max(place.get(i, 0.0), sim)
            if not best and not place and word in self._place_aliases:  # "... parigi"
                for entry in self._places[self._place_aliases[word]]:
                    place[entry.landmark] = 100.0
            if not best and not place:
                return {}
            per_word.append((best, place))
        out: dict[int, float] = {}
        for n in set().union(*(best for best, _ in per_word)):
            owners = self._key_landmarks[n]
            worst = 100.0
            for best, place in per_word:
                sim = best.get(n) or max((place.get(i, 0.0) for i in owners), default=0.0)
                worst = min(worst, sim)
                if not worst:
                    break
            if worst:
                out[n] = _WORD_COVER_SCALE * worst
        # Words from different names of one landmark ("hagia" + "sofia" of "Santa Sofia")
        # still mean that landmark; it is answered under its own name.
        found = {i for n in out for i in self._key_landmarks[n]}
        by_landmark: list[tuple[dict[int, float], dict[int, float]]] = []
        for best, place in per_word:
            merged: dict[int, float] = {}
            for n, sim in best.items():
                for i in self._key_landmarks[n]:
                    merged[i] = max(merged.get(i, 0.0), sim)
            by_landmark.append((merged, place))
        for i in set().union(*(best for best, _ in by_landmark)) - found:
            sims = [best.get(i) or place.get(i, 0.0) for best, place in by_landmark]
            if min(sims) and i in self._name_key_of:
                n = self._name_key_of[i]
                out[n] = max(out.get(n, 0.0), _WORD_COVER_SCALE * min(sims))
        return out


def _close_words(
    word: str, vocabulary: list[str], known: Mapping[str, object]
) -> list[tuple[str, float]]:
    """Vocabulary words spelling ``word``: short words exactly, longer ones within a typo."""
    if len(word) <= _SHORT_WORD:
        return [(word, 100.0)] if word in known else []
    return [(w, s) for w, s, _ in process.extract(word, vocabulary, scorer=fuzz.ratio,
                                                  score_cutoff=_WORD_SIMILARITY, limit=None)]


@lru_cache(maxsize=1)
def _place_names() -> dict[str, tuple[str, ...]]:
    """Other names of the places in the shipped landmarks ("巴黎", "Inde", "भारत" for Paris
    and India), normalised, keyed by the normalised English name the bundle uses.

    Bundles carry one name per place; a person searches in their own language. Shipped
    with photolm (``place_names.json``) rather than in the bundle because it is about
    places, not about what a model recognises: any bundle that says "Paris" gets them.
    """
    raw = json.loads(resources.files("photolm").joinpath("place_names.json")
                     .read_text(encoding="utf-8"))
    return {normalise(place): tuple(dict.fromkeys(k for k in map(normalise, names) if k))
            for place, names in raw.items()}


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


def _and_list(names: Sequence[str], shown: int = 3, *, or_: bool = False) -> str:
    """"A, B and C"; past ``shown`` names, "A, B, C and 21 others" (never "and 1 other")."""
    word = "or" if or_ else "and"
    if len(names) <= shown + 1:
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"
    return f"{', '.join(names[:shown])} {word} {len(names) - shown} others"


def require_query(query: str) -> str:
    """The normalised query; one with nothing to search for is a usage error (exit 2)."""
    q = normalise(query)
    if not q:
        raise UsageError('Give a landmark, alias, city or country to search for, e.g. '
                         'photolm search "Eiffel Tower".')
    return q


def describe_matches(matches: Sequence[NameMatch], first: Iterable[str] = ()) -> str:
    """What a search found, short enough for a table title.

    "Eiffel Tower", "Taj Mahal, Qutub Minar and India Gate", or for a place "landmarks in
    India (Taj Mahal, Qutub Minar, India Gate and 21 others)". Landmarks whose ids are in
    ``first`` (those with photos) are named before the rest.
    """
    order = {landmark_id: i for i, landmark_id in enumerate(dict.fromkeys(first))}
    ranked = sorted(range(len(matches)),
                    key=lambda i: (order.get(matches[i].landmark_id, len(order)), i))
    names = list(dict.fromkeys(matches[i].name for i in ranked))
    if not names:
        return ""
    places = {m.matched_text for m in matches if m.field in _PLACE_FIELDS}
    if len(places) == 1 and all(m.field in _PLACE_FIELDS for m in matches):
        place = places.pop()
        if len(names) == 1:
            return f"{names[0]} (in {place})"
        return f"landmarks in {place} ({_and_list(names)})"
    return _and_list(names)
