# SPDX-License-Identifier: GPL-3.0-or-later
"""A person's word on a photo: which review an answer means, decided once for every face.

``photolm confirm`` and the desktop (``photolm serve``) both turn "this is right", "it is
really the Colosseum", "there is no landmark" and "forget what I said" into a
:class:`~photolm.catalog.Review`. The rule lives here so the two can never disagree:

* naming a landmark *confirms* when it is the one the model recognised, else *corrects*;
* confirming without a name keeps an earlier confirmation or correction as it is, else
  confirms the model's own landmark; a photo with neither has nothing to confirm (``None``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photolm.catalog import Catalog, PhotoRow, Review
from photolm.errors import CatalogError

if TYPE_CHECKING:
    from photolm.bundle import Landmark


def review_for(
    row: PhotoRow,
    chosen: Landmark | None = None,
    *,
    no_landmark: bool = False,
    clear: bool = False,
) -> Review | None:
    """The review a person's answer means for ``row``; ``None`` when there is nothing to
    confirm (no landmark named, recognised or earlier given)."""
    if chosen is not None:
        verdict = "confirmed" if chosen.id == row.landmark_id else "corrected"
        return Review(row.path, verdict, chosen.id, chosen.name)
    if no_landmark:
        return Review(row.path, "none")
    if clear:
        return Review(row.path, None)
    if row.review in ("confirmed", "corrected"):
        return Review(row.path, row.review, row.review_landmark_id, row.review_landmark_name)
    if row.landmark_id is not None and row.review is None:
        return Review(row.path, "confirmed", row.landmark_id, row.landmark_name)
    return None


def resolve_landmark(catalog: Catalog, name: str) -> Landmark:
    """The one landmark a person means by ``name`` (typos and aliases forgiven).

    Raises :class:`~photolm.errors.NotKnownError` for an unknown or ambiguous name
    (:class:`~photolm.errors.UsageError` for an empty one) and
    :class:`~photolm.errors.CatalogError` when no scan has stored a landmark list yet.
    """
    from photolm.names import LandmarkIndex

    index = LandmarkIndex(catalog.landmarks())
    if not len(index):
        raise CatalogError("The catalogue has no landmark list yet: run "
                           "`photolm scan FOLDER` first.")
    return index.resolve(name)
