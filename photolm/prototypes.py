# SPDX-License-Identifier: GPL-3.0-or-later
"""Learned landmarks' prototypes for the bundle's model, and the matcher built on them.

Prototypes are keyed to the ONNX model and the vector space (:func:`model_key`), so a new
network re-makes them from the landmarks' example photos: from the vectors the catalogue
stored when the photo was scanned with this model, else decoded once. Each prototype is then
expanded with its closest catalogued photos, streamed page by page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from photolm import enrol
from photolm.bundle import Bundle, Landmark
from photolm.embedding import EmbedFn
from photolm.learned import (
    EXPANSION_NEIGHBOURS,
    CombinedMatcher,
    Learned,
    similarities,
    space_of,
    uses_descriptor,
    vectors_in,
)
from photolm.names import normalise
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.catalog import Catalog


def model_key(bundle: Bundle, space: str | None = None) -> str:
    """What learned prototypes are keyed to: the ONNX model and the vector space."""
    return f"{bundle.model_id}:{space or space_of(bundle)}"


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


@dataclass(frozen=True)
class Adopted:
    """A learned landmark folded into the model's landmark of the same name."""

    name: str  # the learned landmark's name, as the person gave it
    landmark: Landmark  # the model's landmark it now adds example photos to
    examples: int
    answers: int  # a person's answers that named it, now naming the model's landmark
    id: str = ""  # the learned landmark's id (``learned:old-bridge``), gone now

    def sentence(self) -> str:
        """What became of it, in words: the CLI's ``note:`` line and the desktop's notice."""
        kept = (f"; {counted(self.answers, 'answer of yours', 'names', plural='answers of yours')}"
                " it now" if self.answers else "")
        return (f"the model now has this landmark itself: your learned {self.name} is now "
                f"{counted(self.examples, 'example photo')} added to the model's "
                f"{self.landmark.name}{kept} (`photolm unlearn {self.landmark.name}` takes "
                "them back)")


def shipped_namesakes(bundle: Bundle, learned: Sequence[Learned]
                      ) -> list[tuple[Learned, Landmark]]:
    """Learned landmarks whose name the bundle now ships (retrained with what was taught):
    the name compared as ``photolm learn NAME`` compares it (:func:`photolm.names.normalise`,
    the model's names and aliases), so learn would have added to the model's one."""
    known: dict[str, Landmark] = {}
    for lm in bundle.landmarks:
        for name in (lm.name, *lm.aliases):
            known.setdefault(normalise(name), lm)
    return [(item, known[normalise(item.landmark.name)]) for item in learned
            if not item.shipped and normalise(item.landmark.name) in known]


def adopt_shipped(cat: Catalog, bundle: Bundle) -> list[Adopted]:
    """Fold every learned landmark the bundle ships by name into the model's own (a
    writable catalogue): one landmark of that name, the person's examples added to it and
    their answers naming it. Nothing to do (the usual case) costs one read."""
    found = shipped_namesakes(bundle, cat.learned())
    out = []
    for item, lm in found:
        answers = cat.adopt_learned(item.id, lm)
        out.append(Adopted(item.landmark.name, lm, len(item.examples), answers, item.id))
    return out


def build_matcher(cat: Catalog, bundle: Bundle, *, embed: EmbedFn | None = None,
                  top_k: int = 5) -> CombinedMatcher:
    """The bundle's landmarks plus the learned ones. Learned landmarks without prototypes
    for this model (a new network) get them re-made from their examples and stored, when
    the catalogue is open for writing; learned landmarks the bundle now ships by name are
    then folded into the model's (:func:`adopt_shipped`, listed in ``matcher.adopted``)."""
    space = space_of(bundle)
    key = model_key(bundle, space)
    adopted = adopt_shipped(cat, bundle) if cat.writable else []
    learned = cat.learned()
    protos, remade = prototypes_for(cat, bundle, learned, embed, space,
                                    remake=cat.writable)
    if remade:
        cat.store_prototypes(remade, key)
    matcher = CombinedMatcher(bundle, learned, {**protos, **remade}, space=space, top_k=top_k)
    matcher.adopted = tuple(adopted)
    return matcher


def prototypes_for(cat: Catalog, bundle: Bundle, learned: Sequence[Learned],
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
