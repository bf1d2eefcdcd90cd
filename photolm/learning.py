# SPDX-License-Identifier: GPL-3.0-or-later
"""``learn`` / ``unlearn`` end to end: examples -> prototypes -> every photo re-matched.

Vectors come from the catalogue whenever the photo was scanned with this model, so
learning from catalogued photos decodes nothing; other example photos are decoded once.
Right after a change every catalogued photo embedded by the bundle's model is re-matched
from its stored vectors, a page of 20,000 at a time, and only photos whose verdict changed
are written. Library code: nothing here prints; progress goes through a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photolm import enrol
from photolm.bundle import Bundle, Landmark
from photolm.errors import PhotolmError
from photolm.learned import (
    EMBEDDING,
    EXPANSION_NEIGHBOURS,
    CombinedMatcher,
    Learned,
    learned_id,
    similarities,
    space_of,
    uses_descriptor,
    vectors_in,
)
from photolm.names import normalise

if TYPE_CHECKING:
    from photolm.catalog import Catalog, MatchUpdate
    from photolm.runtime import Device

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# (paths) -> ({path: (embedding, descriptor or None)}, {path: problem})
EmbedFn = Callable[[Sequence[str]], tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                          dict[str, str]]]


class LearnError(PhotolmError):
    """Nothing usable to learn from, or nothing to unlearn."""


@dataclass
class RematchResult:
    photos: int = 0
    changed: int = 0
    seconds: float = 0.0


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


def model_key(bundle: Bundle, space: str | None = None) -> str:
    """What learned prototypes are keyed to: the ONNX model and the vector space."""
    return f"{bundle.model_id}:{space or space_of(bundle)}"


def _silent(stage: str, done: int, total: int) -> None:
    return None


# --------------------------------------------------------------------------- vectors


def session_for(bundle: Bundle, *, device: Device = "auto", threads: int | None = None) -> Any:
    """An onnxruntime session over the bundle's model that also returns its descriptor, when
    the bundle has one and this photolm's runtime knows descriptors."""
    from photolm.runtime import OnnxEmbedder

    for_bundle = getattr(OnnxEmbedder, "for_bundle", None)
    if for_bundle is not None:
        return for_bundle(bundle, device=device, threads=threads)
    return OnnxEmbedder(bundle.model_path, input_name=bundle.input_name,
                        output_name=bundle.output_name, device=device, threads=threads)


def onnx_embed_fn(bundle: Bundle, device: Device = "auto") -> EmbedFn:
    """Decode and embed photos with the bundle's model (only for photos not catalogued);
    the session is made on first use."""
    state: dict[str, Any] = {}

    def embed(paths: Sequence[str]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                             dict[str, str]]:
        if "session" not in state:
            state["session"] = session_for(bundle, device=device)
        return embed_fn(state["session"], bundle)(paths)

    return embed


def embed_both(embedder: Any, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Embedding and (when the model has one) generic descriptor of a batch, one pass."""
    try:
        from photolm.runtime import embed_all
    except ImportError:  # a runtime without descriptors
        return embedder.embed(batch), None
    both = embed_all(embedder, batch)
    return both.embedding, both.descriptor


def embed_fn(embedder: Any, bundle: Bundle) -> EmbedFn:
    """An :data:`EmbedFn` over an embedder already running (the scan's)."""

    def embed(paths: Sequence[str]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]],
                                             dict[str, str]]:
        from photolm.errors import ImageError
        from photolm.images import load_for_model

        out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        problems: dict[str, str] = {}
        for path in paths:
            try:
                batch = load_for_model(path, bundle.preprocess)[None]
            except ImageError as exc:
                problems[path] = str(exc)
                continue
            except OSError as exc:
                problems[path] = exc.strerror or str(exc)
                continue
            emb, desc = embed_both(embedder, batch)
            out[path] = (emb[0], None if desc is None else desc[0])
        return out, problems

    return embed


def example_vectors(cat: Catalog, bundle: Bundle, paths: Sequence[str], space: str,
                    embed: EmbedFn | None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Each example's vector in ``space``: stored when scanned with this model, else made."""
    stored = cat.photo_vectors(paths, bundle.model_id)
    vectors: dict[str, np.ndarray] = {}
    need: list[str] = []
    for p in paths:
        got = stored.get(p)
        if got is None or (uses_descriptor(space) and got[1] is None):
            need.append(p)
        else:
            vectors[p] = _in_space(got[0], got[1], space)
    problems: dict[str, str] = {}
    if need:
        if embed is None:
            problems.update({p: "not scanned with this model" for p in need})
        else:
            made, problems = embed(need)
            for p, (emb, desc) in made.items():
                vectors[p] = _in_space(emb, desc, space)
    return vectors, problems


def _in_space(emb: np.ndarray, desc: np.ndarray | None, space: str) -> np.ndarray:
    return vectors_in(space, enrol.unit(emb[None, :]),
                      None if desc is None else enrol.unit(desc[None, :]))[0]


def _expanded(cat: Catalog, bundle: Bundle, space: str,
              rows_by_id: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Query expansion against the whole catalogue, streamed page by page: only the few
    closest photos of each prototype are ever turned into vectors of ``space``."""
    n = EXPANSION_NEIGHBOURS[space]
    if n == 0 or not rows_by_id:
        return rows_by_id
    ids = list(rows_by_id)
    rows = np.concatenate([rows_by_id[i] for i in ids])
    best_sim = np.full((rows.shape[0], 0), -np.inf, dtype=np.float32)
    best_vec = np.zeros((rows.shape[0], 0, rows.shape[1]), dtype=np.float32)
    for page in cat.vector_pages(bundle.model_id, with_descriptors=uses_descriptor(space)):
        keep = slice(None)
        if uses_descriptor(space):
            if page.descriptors is None:
                continue
            keep = page.has_descriptor
        emb = page.embeddings[keep]
        desc = None if page.descriptors is None else page.descriptors[keep]
        if emb.shape[0] == 0:
            continue
        sims = similarities(space, emb, desc, rows).T  # (P, n_page)
        k = min(n, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        flat = top.ravel()
        vecs = vectors_in(space, emb[flat], None if desc is None else desc[flat])
        cand_sim = np.concatenate([best_sim, np.take_along_axis(sims, top, axis=1)], axis=1)
        cand_vec = np.concatenate([best_vec, vecs.reshape(top.shape[0], k, -1)], axis=1)
        order = np.argsort(-cand_sim, axis=1)[:, :n]
        best_sim = np.take_along_axis(cand_sim, order, axis=1)
        best_vec = np.take_along_axis(cand_vec, order[:, :, None], axis=1)
    if best_sim.shape[1] == 0:
        return rows_by_id
    weights = np.maximum(best_sim, 0.0)
    expanded = enrol.unit(rows + np.einsum("pn,pnd->pd", weights, best_vec))
    out: dict[str, np.ndarray] = {}
    start = 0
    for i in ids:
        count = rows_by_id[i].shape[0]
        out[i] = np.concatenate([rows_by_id[i], expanded[start:start + count]])
        start += count
    return out


def _page_vectors(page: Any, space: str) -> np.ndarray | None:
    """A page's vectors in ``space``; rows without a descriptor are left out (None: all)."""
    if not uses_descriptor(space):
        return page.embeddings
    if page.descriptors is None:
        return None
    keep = page.has_descriptor
    return vectors_in(space, page.embeddings[keep], page.descriptors[keep])


def make_prototypes(cat: Catalog, bundle: Bundle, items: Sequence[Learned],
                    embed: EmbedFn | None, space: str | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Prototypes of ``items`` for this bundle's model, from their example photos."""
    space = space or space_of(bundle)
    paths = sorted({p for item in items for p in item.examples})
    vectors, problems = example_vectors(cat, bundle, paths, space, embed)
    base: dict[str, np.ndarray] = {}
    for item in items:
        rows = [vectors[p] for p in item.examples if p in vectors]
        if rows:
            base[item.id] = enrol.prototypes(np.stack(rows))
    return _expanded(cat, bundle, space, base), problems


def build_matcher(cat: Catalog, bundle: Bundle, *, embed: EmbedFn | None = None,
                  top_k: int = 5) -> CombinedMatcher:
    """The bundle's landmarks plus the learned ones. Learned landmarks without prototypes
    for this model (a new network) get them re-made from their examples and stored, when
    the catalogue is open for writing."""
    space = space_of(bundle)
    key = model_key(bundle, space)
    learned = cat.learned()
    protos, remade = _prototypes_for(cat, bundle, learned, embed, space,
                                     remake=cat.writable)
    if remade:
        cat.store_prototypes(remade, key)
    return CombinedMatcher(bundle, learned, {**protos, **remade}, space=space, top_k=top_k)


def _prototypes_for(cat: Catalog, bundle: Bundle, learned: Sequence[Learned],
                    embed: EmbedFn | None, space: str, *, remake: bool
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Stored prototypes of ``learned`` for this model, and (``remake``) those re-made from
    the examples of landmarks that have none for it yet (not stored here)."""
    protos = cat.learned_prototypes(model_key(bundle, space)) if learned else {}
    missing = [item for item in learned if item.id not in protos and item.examples]
    remade: dict[str, np.ndarray] = {}
    if missing and remake:
        remade, _ = make_prototypes(cat, bundle, missing, embed, space)
    return protos, remade


def unmatchable(cat: Catalog, bundle: Bundle) -> list[Landmark]:
    """Learned landmarks this bundle's network cannot recognise: no prototypes for its model
    and none of their example photos left to make them from (no vector of this model in
    the catalogue, no file). For read commands; a scan knows from its matcher
    (``CombinedMatcher.unmatched``)."""
    import os

    learned = [item for item in cat.learned() if not item.shipped]
    if not learned:
        return []
    protos = cat.learned_prototypes(model_key(bundle, space_of(bundle)))
    lost = []
    for item in learned:
        if item.id in protos:
            continue
        stored = cat.photo_vectors(item.examples, bundle.model_id)
        if not any(p in stored or os.path.exists(p) for p in item.examples):
            lost.append(item.landmark)
    return lost


# --------------------------------------------------------------------------- re-matching


def rematch(cat: Catalog, bundle: Bundle, matcher: CombinedMatcher,
            progress: Progress = _silent, *, affected: set[str] | None = None
            ) -> RematchResult:
    """Re-decide photos embedded by the bundle's model from their stored vectors.

    ``affected``: the landmark ids that changed (learned, unlearned). Only photos whose
    verdict they can change are re-decided then: those showing one of them now, and those
    scoring within reach of the threshold for one of them (GPS may accept a candidate a
    little below it). Scoring those columns is one matrix product per page of 20,000, so
    100,000 photos take seconds; a photo whose top-k list would only gain a candidate far
    below the threshold keeps its list. ``None``: every photo is re-decided, and written
    when its verdict or list changed.
    """
    return _rematch(cat, bundle, matcher, progress, affected, cat.update_matches)


def _rematch(cat: Catalog, bundle: Bundle, matcher: CombinedMatcher, progress: Progress,
             affected: set[str] | None, store: Callable[[list[MatchUpdate]], int]
             ) -> RematchResult:
    """:func:`rematch`, handing each page's new verdicts to ``store`` (returns how many)."""
    from photolm.geo import NEAR_SCORE_MARGIN

    start = time.perf_counter()
    result = RematchResult()
    placed = {lm.id: lm for lm in matcher.landmarks
              if lm.latitude is not None and lm.longitude is not None}
    total = cat.count_embedded(bundle.model_id)
    progress("re-matching", 0, total)
    for page in cat.vector_pages(bundle.model_id,
                                 with_descriptors=uses_descriptor(matcher.space)):
        rows = np.arange(page.ids.size)
        if affected is not None:
            near = matcher.threshold - NEAR_SCORE_MARGIN
            reach = (matcher.scores_for(affected, page.embeddings, page.descriptors,
                                        page.has_descriptor) >= near).any(axis=1)
            showing = np.fromiter((lid in affected for lid in page.landmark_ids), dtype=bool,
                                  count=page.ids.size)
            rows = np.flatnonzero(reach | showing)
        if rows.size and (updates := _redecide(cat, bundle, matcher, page, rows, placed,
                                               only_changed=affected is None)):
            result.changed += store(updates)
        result.photos += page.ids.size
        progress("re-matching", result.photos, total)
    result.seconds = time.perf_counter() - start
    return result


def _redecide(cat: Catalog, bundle: Bundle, matcher: CombinedMatcher, page: Any,
              rows: np.ndarray, placed: dict[str, Landmark], *, only_changed: bool
              ) -> list[MatchUpdate]:
    """Match ``rows`` of a page, weigh GPS: the new verdicts (those that changed)."""
    from photolm.catalog import MatchUpdate
    from photolm.catalog.records import topk_json
    from photolm.geo import gps_evidence

    details = {r.id: r for r in cat.rematch_rows(page.ids[rows].tolist())}
    desc = None if page.descriptors is None else page.descriptors[rows]
    mask = None if page.has_descriptor is None else page.has_descriptor[rows]
    matches = matcher.match(page.embeddings[rows], desc, mask)
    updates = []
    for photo_id, match in zip(page.ids[rows].tolist(), matches, strict=True):
        row = details.get(photo_id)
        if row is None:
            continue
        geo = gps_evidence(row.latitude, row.longitude, match.top, placed,
                           threshold=matcher.threshold)
        best = geo.match
        topk = [c.to_json() for c in match.top]
        if only_changed and row.landmark_id == (best.landmark_id if best else None) and (
                best is None or (row.score is not None and abs(row.score - best.score) < 1e-6)
        ) and row.topk == topk_json(topk):
            continue
        updates.append(MatchUpdate(
            row.path, bundle.bundle_id,
            best.landmark_id if best else None, best.name if best else None,
            best.score if best else None, topk,
            gps=geo if geo.verdict is not None else None))
    return updates


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
          embed: EmbedFn | None = None, progress: Progress = _silent) -> LearnResult:
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
               progress: Progress = _silent) -> LearnPlan:
    """The long part of :func:`learn` (examples, prototypes, the re-match), reading only:
    ``cat`` may be a read-only catalogue, so a writer's lock is not held meanwhile."""
    from photolm.catalog import normalise_path

    paths, problems = collect_photos(sources)
    paths = [normalise_path(p) for p in paths]
    if not paths:
        detail = f" ({next(iter(problems.values()))})" if problems else ""
        raise LearnError(f"No photos found in {', '.join(str(s) for s in sources)}{detail}; "
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
        raise LearnError(f"None of the example photos could be read ({first[0]}: {first[1]}).")
    item = replace(item, examples=tuple(dict.fromkeys((*item.examples, *usable))))
    protos, more = make_prototypes(cat, bundle, [item], embed, space)
    problems.update(more)
    if item.id not in protos:
        raise LearnError(f"No example photo of {name} could be read.")
    # the matcher the catalogue will give once the plan is stored (cf. build_matcher)
    learned = [item if i.id == item.id else i for i in learned]
    learned += [] if any(i.id == item.id for i in learned) else [item]
    stored, remade = _prototypes_for(cat, bundle, [i for i in learned if i.id != item.id],
                                     embed, space, remake=True)
    matcher = CombinedMatcher(bundle, learned, {**stored, **remade, item.id: protos[item.id]},
                              space=space)
    updates: list[MatchUpdate] = []
    summary = _rematch(cat, bundle, matcher, progress, {item.id},
                       lambda page: updates.extend(page) or len(page))
    return LearnPlan(item, {item.id: protos[item.id]}, remade, model_key(bundle, space),
                     updates, LearnResult(lm, existing is None, item.shipped,
                                          len(item.examples),
                                          len(set(item.examples) - before), problems, summary))


def unlearn(cat: Catalog, bundle: Bundle, name: str, *, embed: EmbedFn | None = None,
            progress: Progress = _silent) -> tuple[Learned, RematchResult, int]:
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
        known = ", ".join(sorted(i.landmark.name for i in learned)) or "none yet"
        raise LearnError(f"No learned landmark is called {name!r} (learned: {known}).")
    cat.delete_learned(item.id)
    matcher = build_matcher(cat, bundle, embed=embed)
    summary = rematch(cat, bundle, matcher, progress, affected={item.id})
    if not item.shipped:
        summary.changed += cat.clear_model_landmark(item.id)
    kept = cat.review_count(item.id)
    return item, summary, kept


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class FoundPlace:
    id: str
    photos: tuple[str, ...]  # most central first
    latitude: float | None
    longitude: float | None

    def to_json(self, examples: int = 4) -> dict[str, Any]:
        return {"id": self.id, "size": len(self.photos), "photos": sorted(self.photos),
                "examples": list(self.photos[:examples]), "latitude": self.latitude,
                "longitude": self.longitude}


def find_places(cat: Catalog, bundle: Bundle, *, min_photos: int = 3) -> list[FoundPlace]:
    """Photos no landmark claims, grouped into candidate places (biggest first)."""
    from photolm import places

    space = space_of(bundle)
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
    found = places.group_places(vectors, paths, positions=pos, cuts=places.CUTS[space],
                                min_photos=min_photos)
    return [FoundPlace(p.id, tuple(paths[i] for i in p.members), p.latitude, p.longitude)
            for p in found]


def find_place(cat: Catalog, bundle: Bundle, place_id: str) -> FoundPlace | None:
    """The group ``place_id`` names now (ids stay while the photos stay), of any size."""
    return next((p for p in find_places(cat, bundle, min_photos=2) if p.id == place_id), None)


def learn_place(cat: Catalog, bundle: Bundle, place: FoundPlace, name: str, *,
                aliases: Sequence[str] = (), city: str | None = None,
                country: str | None = None, latitude: float | None = None,
                longitude: float | None = None, embed: EmbedFn | None = None,
                progress: Progress = _silent) -> LearnResult:
    """Name a group: its photos become the examples and, unless a position is given, its
    GPS position becomes the landmark's (``photolm places name`` and the desktop both)."""
    return apply_learn(cat, plan_place(cat, bundle, place, name, aliases=aliases, city=city,
                                       country=country, latitude=latitude,
                                       longitude=longitude, embed=embed, progress=progress))


def plan_place(cat: Catalog, bundle: Bundle, place: FoundPlace, name: str, *,
               aliases: Sequence[str] = (), city: str | None = None,
               country: str | None = None, latitude: float | None = None,
               longitude: float | None = None, embed: EmbedFn | None = None,
               progress: Progress = _silent) -> LearnPlan:
    """:func:`learn_place` without storing anything (see :func:`plan_learn`)."""
    if latitude is None and longitude is None and place.latitude is not None:
        latitude, longitude = place.latitude, place.longitude
    return plan_learn(cat, bundle, name, [Path(p) for p in place.photos], aliases=aliases,
                      city=city, country=country, latitude=latitude, longitude=longitude,
                      embed=embed, progress=progress)
