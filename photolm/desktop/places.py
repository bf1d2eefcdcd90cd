# SPDX-License-Identifier: GPL-3.0-or-later
"""The unnamed-places page: ``photolm places`` as strips of thumbnails, and naming one.

Both halves call :mod:`photolm.learning` as ``photolm places`` and ``photolm places name``
do (``find_places``, ``find_place``, ``learn_place``): which photos form a group, how a group
is named (its photos are the examples, its GPS position the landmark's) and the re-match
after it are decided there, once. The server passes its own :class:`PlacesCache`, which keeps
the last groups in memory as well as in the cache file ``photolm places`` shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from photolm.embedding import onnx_embed_fn
from photolm.errors import NotKnownError, UsageError
from photolm.learning import (
    LearnPlan,
    NearMissWords,
    find_place,
    find_places,
    listed_places,
    one_line,
    plan_place,
    refuse_near_miss,
)

if TYPE_CHECKING:
    from photolm.bundle import Bundle
    from photolm.catalog import Catalog, PhotoRow
    from photolm.learning import FoundPlace
    from photolm.places_cache import PlacesCache

STRIP = 8  # thumbnails shown per group: its most central photos
# a name almost like a known one: its field takes the right name, its tick box a new landmark
NEAR_MISS_WORDS = NearMissWords(use="type", new="tick “a new landmark” to learn a new one")


@dataclass(frozen=True)
class Strip:
    place: FoundPlace
    photos: list[PhotoRow]


def strips(cat: Catalog, bundle: Bundle, *, everything: bool = False,
           cache: PlacesCache | None = None) -> tuple[list[Strip], int]:
    """Every group ``photolm places`` lists (biggest first, ``everything``: as with
    ``--all``), with its most central photos; and how many groups that look like no place
    were left out."""
    listed, hidden = listed_places(find_places(cat, bundle, cache=cache),
                                   everything=everything)
    found = []
    for place in listed:
        rows = [cat.get_photo(p) for p in place.photos[:STRIP]]
        found.append(Strip(place, [r for r in rows if r is not None]))
    return found, hidden


def plan_naming(cat: Catalog, bundle: Bundle, place_id: str, name: str, *,
                new: bool = False, cache: PlacesCache | None = None) -> LearnPlan:
    """What teaching photolm the group ``place_id`` as ``name`` stores, computed from ``cat``
    (read-only is fine): the caller stores it with :func:`photolm.learning.apply_learn`
    under the write lock, so scans are not locked out while the re-match is computed.

    A name almost like a known one ("Berliner Domm") is refused as ``photolm places name``
    refuses it (a second landmark would take the first one's photos) unless ``new``."""
    name = one_line(name, "The name")  # as photolm places name stores it
    if not name:
        raise UsageError("Give the place a name.")
    if not new:
        refuse_near_miss(name, bundle, cat.learned(), NEAR_MISS_WORDS)
    place = find_place(cat, bundle, place_id, cache=cache)
    if place is None:
        raise NotKnownError(f"No place {place_id!r} now (named already, or your photos "
                            "changed); the page now shows the current groups.")
    return plan_place(cat, bundle, place, name, embed=onnx_embed_fn(bundle))
