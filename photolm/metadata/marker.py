# SPDX-License-Identifier: GPL-3.0-or-later
"""The photolm marker: photolm's own record, in its own XMP namespace, of what it wrote.

Why a record and not just "remove the landmark keyword": a person may have typed the same
keyword before photolm came along, and another tool may have added fields since. The marker
lists every value photolm added (``Added``), every value it would have added but found
already there (``PreExisting``: never removed), and the keywords it copied from the photo
into a new sidecar so that tools which let a sidecar hide the photo's own keywords still see
them (``Seeded``). ``photolm untag`` removes exactly ``Added`` (and ``Seeded`` only where
nothing else was added to that list since), then the marker itself.

Entries are plain ``field=value`` strings (``dc:subject=Eiffel Tower``,
``IPTC:Keywords=Eiffel Tower``) so that ``exiftool -XMP-photolm:all`` shows them readably.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from photolm.metadata.fields import PHOTOLM_NS, Entry
from photolm.metadata.xmp import XmpDocument, XmpShapeError

MARKER_VERSION = 1

_TEXT = ("Version", "LandmarkId", "Landmark", "Score", "ModelId", "Photo", "CreatedSidecar",
         "LocationEstimated")
_LISTS = ("Added", "PreExisting", "Seeded")


@dataclass(frozen=True)
class PhotolmMarker:
    """What photolm recorded about its own writes in one file (an embedded packet or a
    sidecar). ``source`` and ``embedded`` say where it was read from (unset while planning)."""

    landmark_id: str
    landmark_name: str
    score: float | None
    model_id: str
    added: tuple[Entry, ...] = ()
    pre_existing: tuple[Entry, ...] = ()
    seeded: tuple[Entry, ...] = ()
    photo_name: str | None = None  # sidecars only: the photo the sidecar belongs to
    created_sidecar: bool = False
    location_estimated: bool = False
    version: int = MARKER_VERSION
    source: Path | None = None
    embedded: bool = False

    def located(self, source: Path, *, embedded: bool) -> PhotolmMarker:
        return replace(self, source=source, embedded=embedded)

    def same_writes(self, other: PhotolmMarker) -> bool:
        """True when both record the same landmark and the same field values, whatever the
        score and model: re-tagging with a newer score alone never rewrites a photo."""
        return (self.landmark_id == other.landmark_id
                and set(self.added) == set(other.added)
                and set(self.pre_existing) == set(other.pre_existing)
                and set(self.seeded) == set(other.seeded)
                and self.location_estimated == other.location_estimated)


def read_marker(doc: XmpDocument) -> PhotolmMarker | None:
    """The marker in ``doc``, or ``None``. A damaged marker (hand-edited into a shape photolm
    does not understand) counts as none: photolm then removes nothing rather than guess."""
    try:
        text = {name: doc.get_text(PHOTOLM_NS, name) for name in _TEXT}
        lists = {name: doc.get_list(PHOTOLM_NS, name) or [] for name in _LISTS}
    except XmpShapeError:
        return None
    if text["LandmarkId"] is None and not lists["Added"]:
        return None
    try:
        version = int(text["Version"] or MARKER_VERSION)
        score = float(text["Score"]) if text["Score"] else None
    except ValueError:
        return None

    def entries(name: str) -> tuple[Entry, ...]:
        decoded = (Entry.decode(item) for item in lists[name])
        return tuple(entry for entry in decoded if entry is not None)

    return PhotolmMarker(
        landmark_id=text["LandmarkId"] or "",
        landmark_name=text["Landmark"] or "",
        score=score,
        model_id=text["ModelId"] or "",
        added=entries("Added"),
        pre_existing=entries("PreExisting"),
        seeded=entries("Seeded"),
        photo_name=text["Photo"],
        created_sidecar=text["CreatedSidecar"] == "True",
        location_estimated=text["LocationEstimated"] == "True",
        version=version,
    )


def remove_marker(doc: XmpDocument) -> None:
    """Remove every photolm property, including ones a newer photolm may have added."""
    for name in doc.properties(PHOTOLM_NS):
        doc.remove(PHOTOLM_NS, name)


def write_marker(doc: XmpDocument, marker: PhotolmMarker) -> None:
    """Replace any marker in ``doc`` with ``marker``."""
    remove_marker(doc)
    values = {
        "Version": str(marker.version),
        "LandmarkId": marker.landmark_id,
        "Landmark": marker.landmark_name,
        "Score": None if marker.score is None else f"{marker.score:.4f}",
        "ModelId": marker.model_id or None,
        "Photo": marker.photo_name,
        "CreatedSidecar": "True" if marker.created_sidecar else None,
        "LocationEstimated": "True" if marker.location_estimated else None,
    }
    for name, value in values.items():
        if value is not None:
            doc.set_text(PHOTOLM_NS, name, value)
    for name, entries in (("Added", marker.added), ("PreExisting", marker.pre_existing),
                          ("Seeded", marker.seeded)):
        for entry in entries:
            doc.append_list(PHOTOLM_NS, name, entry.encode(), "Bag")
