# SPDX-License-Identifier: GPL-3.0-or-later
"""``learn`` / ``unlearn`` end to end: examples -> prototypes -> every photo re-matched; and
the candidate places (unclaimed photos that look alike) a person can name instead.

Each step is a module of its own: vectors of photos not catalogued
(:mod:`photolm.embedding`), prototypes (:mod:`photolm.prototypes`), the re-match of stored
vectors (:mod:`photolm.rematch`); this one decides what is learned. A learn is
:func:`plan_learn` (reads only) + :func:`apply_learn` (one transaction), so the desktop
holds the write lock only to store. Library code: nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photolm.bundle import Bundle, Landmark
from photolm.embedding import EmbedFn
from photolm.errors import NotKnownError, PhotolmError, UsageError
from photolm.learned import (
    EMBEDDING,
    CombinedMatcher,
    Learned,
    grouping_space,
    learned_id,
    space_of,
    uses_descriptor,
    vectors_in,
)
from photolm.names import normalise
from photolm.printed_paths import ONE_LINE, printed
from photolm.prototypes import (
    build_matcher,
    example_vectors,
    make_prototypes,
    model_key,
    prototypes_for,
)
from photolm.rematch import Progress, RematchResult, no_progress, rematch, rematch_into

if TYPE_CHECKING:
    from photolm.catalog import Catalog, MatchUpdate
    from photolm.places_cache import PlacesCache


class LearnError(PhotolmError):
    """Nothing usable to learn from (a name that names nothing to unlearn is a
    :class:`~photolm.errors.NotKnownError`)."""


@dataclass
class LearnResult:
    landmark: Landmark
    new: bool
    shipped: bool
    examples: int
    added: int
    skipped: dict[str, str] = field(default_factory=dict)
    rematch: RematchResult = field(default_factory=RematchResult)
    photos: int = 0
    position: ExamplesPosition | None = None  # what the examples' GPS said, when consulted


@dataclass(frozen=True)
class ExamplesPosition:
    """Where the example photos were taken, for a learned landmark given no --lat/--lon.

    A learned landmark with a position gets GPS evidence like a shipped one (a photo taken
    500 km away is not it), so the examples' own GPS is used when they agree: all within
    :data:`photolm.places.MAX_KM` of their median, i.e. photos of one place. Examples spread
    wider (a name given to photos of several places, or a wrong GPS fix) set nothing.
    """

    latitude: float
    longitude: float
    photos: int  # examples that carry GPS
    spread_km: float  # the farthest of them from the median

    @property
    def used(self) -> bool:
        from photolm.places import MAX_KM

        return self.spread_km <= MAX_KM


def examples_position(cat: Catalog, paths: Sequence[str]) -> ExamplesPosition | None:
    """The median GPS position of the catalogued examples that carry one (None: none do)."""
    from photolm.geo import haversine_km, usable_position

    rows = [cat.get_photo(p) for p in paths]
    spots = [(r.latitude, r.longitude) for r in rows if r is not None
             and r.latitude is not None and r.longitude is not None
             and usable_position(r.latitude, r.longitude)]
    if not spots:
        return None
    lat, lon = (float(v) for v in np.median(np.array(spots, dtype=np.float64), axis=0))
    spread = max(haversine_km(lat, lon, a, b) for a, b in spots)
    return ExamplesPosition(round(lat, 6), round(lon, 6), len(spots), spread)


# --------------------------------------------------------------------------- learn / unlearn


def find_landmark(name: str, bundle: Bundle, learned: Sequence[Learned]) -> Learned | None:
    """The learned or shipped landmark ``name`` names exactly (name or alias, any case)."""
    want = normalise(name)
    for item in learned:
        if want in {normalise(n) for n in (item.landmark.name, *item.landmark.aliases)}:
            return item
    for lm in bundle.landmarks:
        if want in {normalise(n) for n in (lm.name, *lm.aliases)}:
            return Learned(lm, True, ())
    return None


# how alike (rapidfuzz ratio, 0..100) a new name and a known one must be to look like a typo
# of it: "Brandenberg Gate" / "Brandenburg Gate" 94, "Old Bridges" / "Old Bridge" 95, while
# "Old Bridge" / "New Bridge" is 70 and "Berlin Cathedral" / "Cologne Cathedral" 73
NEAR_MISS = 85


def one_line(text: str, what: str) -> str:
    """A name as it is stored and printed: one line, runs of spaces, tabs and line breaks
    (a name pasted from two lines) one space. Another control character, or a
    bidirectional control (which would make the name display as another), is refused:
    ``what`` says which value held it. Here, not in the CLI, so that ``photolm learn``,
    ``places name`` and the desktop's "name this place" form store the same name."""
    folded = " ".join(text.split())
    if folded.translate(ONE_LINE) != folded:
        raise UsageError(f"{what} {folded.translate(ONE_LINE)!r} holds a control character; "
                         "give it as plain text.")
    return folded


def near_miss(name: str, bundle: Bundle, learned: Sequence[Learned]) -> Landmark | None:
    """The known landmark ``name`` looks like a misspelling of (a name or alias almost the
    same, not the same): learning it would make a second landmark that takes photos from
    the first. ``None`` when ``name`` is known exactly or close to nothing."""
    from rapidfuzz import fuzz

    if find_landmark(name, bundle, learned) is not None:
        return None
    want = normalise(name)
    best: tuple[float, Landmark | None] = (NEAR_MISS, None)
    for lm in [*(item.landmark for item in learned), *bundle.landmarks]:
        for known in (lm.name, *lm.aliases):
            score = fuzz.ratio(want, normalise(known))
            if score >= best[0]:
                best = (score, lm)
    return best[1]


@dataclass(frozen=True)
class NearMissWords:
    """How one surface names the two ways past a name almost like a known one: giving that
    name instead (``use``: the command line "give"s it, the page's field is "type"d in), and
    learning a new landmark all the same (``new``: the ``--new`` flag, the page's tick box)."""

    use: str
    new: str


def refuse_near_miss(name: str, bundle: Bundle, learned: Sequence[Learned],
                     words: NearMissWords) -> None:
    """Refuse to learn ``name`` when it looks like a misspelling of a known landmark
    (:func:`near_miss`) with one :class:`~photolm.errors.NotKnownError` line: the name was
    typed well and names nothing, so not a usage error. ``photolm learn``, ``places name``
    and the desktop's "name this place" say the same sentence, each in its own ``words``."""
    close = near_miss(name, bundle, learned)
    if close is not None:
        raise NotKnownError(f"{name!r} is not a landmark photolm knows, but almost "
                            f"{close.name!r}: {words.use} that name to add these photos to it, "
                            f"or {words.new} by this name.")


def collect_photos(sources: Iterable[Path]) -> tuple[list[str], dict[str, str]]:
    """Photo files among ``sources`` (folders walked), absolute, in order; and problems."""
    from photolm.discovery import Found, walk_photos

    found: list[str] = []
    problems: dict[str, str] = {}
    for item in walk_photos([Path(s).expanduser() for s in sources]):
        if isinstance(item, Found):
            path = str(item.path.absolute())
            if path not in found:
                found.append(path)
        else:
            problems[str(item.path)] = item.message
    return found, problems


@dataclass
class LearnPlan:
    """Everything a learn will store, computed without writing (see :func:`apply_learn`)."""

    item: Learned
    prototypes: dict[str, np.ndarray]  # the landmark's, for this model
    remade: dict[str, np.ndarray]  # other learned landmarks' re-made for this model
    key: str
    updates: list[MatchUpdate]
    result: LearnResult


def learn(cat: Catalog, bundle: Bundle, name: str, sources: Sequence[Path], *,
          aliases: Sequence[str] = (), city: str | None = None, country: str | None = None,
          latitude: float | None = None, longitude: float | None = None,
          embed: EmbedFn | None = None, progress: Progress = no_progress) -> LearnResult:
    """Enrol ``name`` from example photos (or add examples to a landmark already known)."""
    return apply_learn(cat, plan_learn(
        cat, bundle, name, sources, aliases=aliases, city=city, country=country,
        latitude=latitude, longitude=longitude, embed=embed, progress=progress))


def apply_learn(cat: Catalog, plan: LearnPlan) -> LearnResult:
    """Store a plan in ONE transaction (a writable catalogue): the short part of a learn."""
    with cat.atomic("store the learned landmark"):
        cat.save_learned(plan.item, plan.prototypes, plan.key)
        if plan.remade:
            cat.store_prototypes(plan.remade, plan.key)
        plan.result.rematch.changed = cat.update_matches(plan.updates)
    return replace(plan.result,
                   photos=cat.landmark_counts().get(plan.result.landmark.id, 0))


def plan_learn(cat: Catalog, bundle: Bundle, name: str, sources: Sequence[Path], *,
               aliases: Sequence[str] = (), city: str | None = None,
               country: str | None = None, latitude: float | None = None,
               longitude: float | None = None, embed: EmbedFn | None = None,
               progress: Progress = no_progress) -> LearnPlan:
    """The long part of :func:`learn` (examples, prototypes, the re-match), reading only:
    ``cat`` may be a read-only catalogue, so a writer's lock is not held meanwhile."""
    from photolm.catalog import normalise_path

    paths, problems = collect_photos(sources)
    paths = [normalise_path(p) for p in paths]
    if not paths:
        detail = f" ({next(iter(problems.values()))})" if problems else ""
        raise LearnError(f"No photos found in {', '.join(printed(s) for s in sources)}{detail}; "
                         "give photo files or folders of photos.")
    learned = cat.learned()
    existing = find_landmark(name, bundle, learned)
    if existing is None:
        lm = Landmark(id=learned_id(name, {i.id for i in learned}), name=name.strip(),
                      aliases=tuple(dict.fromkeys(a.strip() for a in aliases if a.strip())),
                      city=city, country=country, latitude=latitude, longitude=longitude)
        item = Learned(lm, False, ())
    else:
        lm = existing.landmark
        if not existing.shipped:  # a learned landmark takes new details; a shipped one not
            lm = replace(lm, aliases=tuple(dict.fromkeys((*lm.aliases, *aliases))),
                         city=city or lm.city, country=country or lm.country,
                         latitude=lm.latitude if latitude is None else latitude,
                         longitude=lm.longitude if longitude is None else longitude)
        item = replace(existing, landmark=lm)
    before = set(item.examples)
    progress("reading examples", 0, len(paths))
    space = space_of(bundle)
    vectors, bad = example_vectors(cat, bundle, paths, space, embed)
    problems.update(bad)
    usable = [p for p in paths if p in vectors]
    progress("reading examples", len(paths), len(paths))
    if not usable:
        first = next(iter(bad.items()), ("", "unreadable"))
        raise LearnError(f"None of the example photos could be read ({printed(first[0])}: "
                         f"{first[1]}).")
    position = None
    if not item.shipped and lm.latitude is None and lm.longitude is None:
        position = examples_position(cat, usable)
        if position is not None and position.used:
            lm = replace(lm, latitude=position.latitude, longitude=position.longitude)
            item = replace(item, landmark=lm)
    item = replace(item, examples=tuple(dict.fromkeys((*item.examples, *usable))))
    protos, more = make_prototypes(cat, bundle, [item], embed, space)
    problems.update(more)
    if item.id not in protos:
        raise LearnError(f"No example photo of {name} could be read.")
    # the matcher the catalogue will give once the plan is stored (cf. build_matcher)
    learned = [item if i.id == item.id else i for i in learned]
    learned += [] if any(i.id == item.id for i in learned) else [item]
    stored, remade = prototypes_for(cat, bundle, [i for i in learned if i.id != item.id],
                                    embed, space, remake=True)
    matcher = CombinedMatcher(bundle, learned, {**stored, **remade, item.id: protos[item.id]},
                              space=space)
    updates: list[MatchUpdate] = []
    summary = rematch_into(cat, bundle, matcher, progress, {item.id},
                           lambda page: updates.extend(page) or len(page))
    return LearnPlan(item, {item.id: protos[item.id]}, remade, model_key(bundle, space),
                     updates, LearnResult(lm, existing is None, item.shipped,
                                          len(item.examples),
                                          len(set(item.examples) - before), problems, summary,
                                          position=position))


def unlearn(cat: Catalog, bundle: Bundle, name: str, *, embed: EmbedFn | None = None,
            progress: Progress = no_progress) -> tuple[Learned, RematchResult, int]:
    """Forget a learned landmark (or the examples added to a shipped one) and re-match.

    Returns the landmark, the re-match summary and how many photos a person confirmed or
    corrected as it (those answers stay as they are).
    """
    learned = cat.learned()
    want = normalise(name)
    item = next((i for i in learned
                 if want in {normalise(n) for n in (i.landmark.name, *i.landmark.aliases)}
                 or i.id == name), None)
    if item is None:
        raise NotKnownError(_nothing_to_unlearn(name, bundle, learned))
    cat.delete_learned(item.id)
    matcher = build_matcher(cat, bundle, embed=embed)
    summary = rematch(cat, bundle, matcher, progress, affected={item.id})
    if not item.shipped:
        summary.changed += cat.clear_model_landmark(item.id)
    kept = cat.review_count(item.id)
    return item, summary, kept


# --------------------------------------------------------------------------- places


def _nothing_to_unlearn(name: str, bundle: Bundle, learned: Sequence[Learned]) -> str:
    """Why ``name`` names nothing ``unlearn`` can forget, in one line: the model's own
    landmark, or no learned one, with the closest learned names as ``confirm --landmark``
    offers them ("Did you mean Old Bridge?")."""
    from photolm.names import LandmarkIndex

    known = ", ".join(sorted(i.landmark.name for i in learned)) or "none yet"
    shipped = find_landmark(name, bundle, ())
    if shipped is not None:  # the model's own: nothing of yours to forget
        return (f"{shipped.landmark.name} is one of the model's landmarks and you added no "
                f"example photos to it: unlearn forgets only what you taught (learned: {known}).")
    guess = LandmarkIndex([i.landmark for i in learned]).did_you_mean(name)
    return " ".join(filter(None, (f"No learned landmark is called {name!r} (learned: {known}).",
                                  guess)))


def _page_vectors(page: Any, space: str) -> np.ndarray | None:
    """A page's vectors in ``space``; rows without a descriptor are left out (None: all)."""
    if not uses_descriptor(space):
        return page.embeddings
    if page.descriptors is None:
        return None
    keep = page.has_descriptor
    return vectors_in(space, page.embeddings[keep], page.descriptors[keep])


@dataclass(frozen=True)
class FoundPlace:
    id: str
    photos: tuple[str, ...]  # most central first
    latitude: float | None
    longitude: float | None
    # False for a group that looks like no known place (portraits, pets, food): listed only
    # on request (``photolm places --all``); None where the bundle has no descriptor
    looks_like_a_place: bool | None = None

    def to_json(self, examples: int = 4) -> dict[str, Any]:
        return {"id": self.id, "size": len(self.photos), "photos": sorted(self.photos),
                "examples": list(self.photos[:examples]), "latitude": self.latitude,
                "longitude": self.longitude, "looks_like_a_place": self.looks_like_a_place}


def find_places(cat: Catalog, bundle: Bundle, *, min_photos: int = 3,
                cache: PlacesCache | None = None) -> list[FoundPlace]:
    """Photos no landmark claims, grouped into candidate places (biggest first), each
    marked whether it looks like a place at all; the cuts and the likeness bar are the
    bundle's own where it carries them (:func:`photolm.places.cuts_for`, ``likeness_for``).

    Kept in ``cache`` (the user cache folder's when None) until anything the groups depend
    on changes (:mod:`photolm.places_cache`). Groups of 2 and more are kept whatever
    ``min_photos`` is (it only leaves the smaller out, last), so ``places`` and the
    ``places name`` after it share them."""
    from photolm.places_cache import PlacesCache, places_key

    cache = PlacesCache() if cache is None else cache
    least = min(min_photos, 2)
    seen = cat.data_version()
    key = places_key(cat, bundle, least)
    found = cache.get(cat.path, key)
    if found is None:
        found = _group_unclaimed(cat, bundle, least)
        if cat.data_version() == seen:  # nothing stored meanwhile: these are the key's groups
            cache.put(cat.path, key, found)
    return [p for p in found if len(p.photos) >= min_photos]


def _group_unclaimed(cat: Catalog, bundle: Bundle, min_photos: int) -> list[FoundPlace]:
    """:func:`find_places` without the cache: everything it reads is in its key
    (:func:`photolm.places_cache.places_key`)."""
    from photolm import places

    space = grouping_space(bundle)
    pages = list(cat.vector_pages(bundle.model_id, with_descriptors=uses_descriptor(space),
                                  unclaimed=True))
    if not pages:
        return []
    if uses_descriptor(space) and not all(
            page.has_descriptor is not None and page.has_descriptor.all() for page in pages):
        space = EMBEDDING  # photos scanned before the bundle had a descriptor
    rows = cat.rematch_rows(np.concatenate([page.ids for page in pages]).tolist())
    paths = [r.path for r in rows]
    vectors = np.concatenate([_page_vectors(page, space) for page in pages])
    pos = np.array([(np.nan if r.latitude is None else r.latitude,
                     np.nan if r.longitude is None else r.longitude) for r in rows],
                   dtype=np.float64)
    times = np.array([places.clock_seconds(r.taken) for r in rows], dtype=np.float64)
    found = places.group_places(vectors, paths, positions=pos, times=times,
                                cuts=places.cuts_for(bundle, space), min_photos=min_photos)
    references = getattr(bundle, "descriptor_prototypes", None)
    descriptors, bar = None, places.likeness_for(bundle)
    if uses_descriptor(space) and references is not None and len(references):
        descriptors = np.concatenate([page.descriptors for page in pages])
    return [FoundPlace(p.id, tuple(paths[i] for i in p.members), p.latitude, p.longitude,
                       None if descriptors is None else places.place_likeness(
                           descriptors[list(p.members)], references) >= bar)
            for p in found]


def listed_places(found: Sequence[FoundPlace], *, everything: bool = False
                  ) -> tuple[list[FoundPlace], int]:
    """The groups ``photolm places`` and the desktop list (``everything``: as ``--all``),
    and how many that look like no place they leave out."""
    listed = [p for p in found if everything or p.looks_like_a_place is not False]
    return listed, len(found) - len(listed)


def find_place(cat: Catalog, bundle: Bundle, place_id: str, *,
               cache: PlacesCache | None = None) -> FoundPlace | None:
    """The group ``place_id`` names now (ids stay while the photos stay), of any size."""
    return next((p for p in find_places(cat, bundle, min_photos=2, cache=cache)
                 if p.id == place_id), None)


def learn_place(cat: Catalog, bundle: Bundle, place: FoundPlace, name: str, *,
                aliases: Sequence[str] = (), city: str | None = None,
                country: str | None = None, latitude: float | None = None,
                longitude: float | None = None, embed: EmbedFn | None = None,
                progress: Progress = no_progress) -> LearnResult:
    """Name a group: its photos become the examples and, unless a position is given, its
    GPS position becomes the landmark's (``photolm places name`` and the desktop both)."""
    return apply_learn(cat, plan_place(cat, bundle, place, name, aliases=aliases, city=city,
                                       country=country, latitude=latitude,
                                       longitude=longitude, embed=embed, progress=progress))


def plan_place(cat: Catalog, bundle: Bundle, place: FoundPlace, name: str, *,
               aliases: Sequence[str] = (), city: str | None = None,
               country: str | None = None, latitude: float | None = None,
               longitude: float | None = None, embed: EmbedFn | None = None,
               progress: Progress = no_progress) -> LearnPlan:
    """:func:`learn_place` without storing anything (see :func:`plan_learn`)."""
    if latitude is None and longitude is None and place.latitude is not None:
        latitude, longitude = place.latitude, place.longitude
    return plan_learn(cat, bundle, name, [Path(p) for p in place.photos], aliases=aliases,
                      city=city, country=country, latitude=latitude, longitude=longitude,
                      embed=embed, progress=progress)
