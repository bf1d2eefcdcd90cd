# SPDX-License-Identifier: GPL-3.0-or-later
"""Candidate places kept between runs until anything they were computed from changes.

Grouping a large library's unclaimed photos takes tens of seconds, and ``photolm places``,
the ``places name ID`` that follows it and every load of the desktop's Unnamed places page
would each redo it from the same rows. So :func:`photolm.learning.find_places` keeps its
result under a key (:func:`places_key`) that is a digest of everything the grouping reads:
the network, the places values and the code that groups, and every unclaimed photo's id,
path, GPS position, time taken and stored vectors. Anything that changes what the groups
would be (a scan, learn or unlearn, confirm or correct, prune, another bundle) changes the
key; a key that did not change gives back exactly the groups it was stored with, so ids
stay the same between runs.

Kept in a file in the user cache folder, one per catalogue, not in a catalogue table:
``places`` reads the catalogue without its write lock (a scan may be writing meanwhile) and
must list places from a read-only catalogue too, so storing there would need the lock, or be
impossible, exactly when it matters; a cache file may go at any time at the cost of one
recomputation, never damages the catalogue, and needs no schema migration. A file that
cannot be read or parsed, or holds another key, is a miss and is replaced; one that cannot
be written is left (the groups are returned all the same). A write goes to a temporary file
renamed over the old one, so a reader never sees half of one. JSON, not pickle: a cache file
is data, never code to run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import astuple
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photolm.bundle import Bundle
    from photolm.catalog import Catalog
    from photolm.learning import FoundPlace

FORMAT = 1  # of the file; a file of another format is a miss


def default_cache_dir() -> Path:
    """The folder of the cache files (e.g. ``~/.cache/photolm/places`` on Linux), beside
    the desktop's thumbnails."""
    import platformdirs

    return platformdirs.user_cache_path("photolm", appauthor=False) / "places"


@functools.cache
def _code_version() -> str:
    """What the grouping code is: the sources of the modules that decide the groups and
    the versions of the libraries they call, so an upgrade (or an edit) recomputes."""
    from importlib import metadata

    import numpy as np

    import photolm
    from photolm import learning, places

    digest = hashlib.sha256(f"{photolm.__version__} {np.__version__}".encode())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("scipy").encode())
    for module in (places, learning):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:  # no source beside it (a frozen build): its version stands for it
            digest.update(str(module.__name__).encode())
    return digest.hexdigest()


def places_key(cat: Catalog, bundle: Bundle, min_photos: int) -> str:
    """The key of the groups :func:`photolm.learning.find_places` computes now: it must
    cover all it reads. The bundle's side: its network (``model_id``: the stored vectors
    are its), the vector space, the cuts of that space and of the embedding space (used
    when some photo has no descriptor), the likeness bar and the descriptor prototypes the
    bar is measured against; the catalogue's: :meth:`Catalog.unclaimed_digest`."""
    from photolm import places
    from photolm.learned import EMBEDDING, grouping_space, uses_descriptor

    space = grouping_space(bundle)
    references = getattr(bundle, "descriptor_prototypes", None)
    refs = None
    if references is not None:
        import numpy as np

        block = np.ascontiguousarray(references, dtype=np.float32)
        refs = [list(block.shape), hashlib.sha256(block.tobytes()).hexdigest()]
    head = {"format": FORMAT, "code": _code_version(), "model": bundle.model_id,
            "space": space, "min_photos": min_photos, "references": refs,
            "cuts": [list(astuple(places.cuts_for(bundle, s))) for s in (space, EMBEDDING)],
            "likeness": places.likeness_for(bundle)}
    digest = hashlib.sha256(json.dumps(head, sort_keys=True).encode())
    digest.update(cat.unclaimed_digest(bundle.model_id,
                                       with_descriptors=uses_descriptor(space)).encode())
    return digest.hexdigest()


class PlacesCache:
    """Groups by key, one file per catalogue in ``folder``; the last groups read or stored
    are also kept in memory (a server asked again with an unchanged key skips the file)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self._last: tuple[Path, str, list[FoundPlace]] | None = None

    def file_for(self, catalog: Path) -> Path:
        """The cache file of the catalogue at ``catalog`` (named by its absolute path)."""
        name = hashlib.sha256(os.fsencode(Path(catalog).absolute())).hexdigest()[:24]
        return self.folder / f"{name}.json"

    def get(self, catalog: Path, key: str) -> list[FoundPlace] | None:
        """The groups stored under ``key``, or None (no file, another key, unreadable)."""
        path = self.file_for(catalog)
        last = self._last
        if last is not None and last[0] == path and last[1] == key:
            return list(last[2])
        try:
            data = json.loads(path.read_bytes())
            if not (isinstance(data, dict) and data.get("format") == FORMAT
                    and data.get("key") == key):
                return None
            found = _decode(data["places"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, half-written by another program, or not ours: recompute
        self._last = (path, key, found)
        return list(found)

    def put(self, catalog: Path, key: str, found: Sequence[FoundPlace]) -> None:
        """Store ``found`` under ``key``, replacing the file atomically; a folder or file
        that cannot be written leaves things as they were."""
        path = self.file_for(catalog)
        self._last = (path, key, list(found))
        body = json.dumps({"format": FORMAT, "key": key, "places": [_encode(p) for p in found]},
                          separators=(",", ":")).encode()
        partial = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                           dir=path.parent)
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.replace(partial, path)
            partial = None
        except OSError:
            pass  # a read-only or full cache folder: the groups are not kept, nothing else
        finally:
            if partial is not None:
                with contextlib.suppress(OSError):
                    os.unlink(partial)


def _encode(place: FoundPlace) -> dict[str, Any]:
    # paths may hold surrogate escapes (names that are not UTF-8): json keeps them as \udcxx
    return {"id": place.id, "photos": list(place.photos), "latitude": place.latitude,
            "longitude": place.longitude, "looks": place.looks_like_a_place}


def _decode(records: object) -> list[FoundPlace]:
    """The groups of a cache file, checked field by field (``ValueError`` when anything
    is not what :func:`_encode` writes)."""
    from photolm.learning import FoundPlace

    if not isinstance(records, list):
        raise ValueError("not a list of groups")
    found = []
    for r in records:
        photos = r["photos"]
        if not (isinstance(r["id"], str) and isinstance(photos, list) and photos
                and all(isinstance(p, str) for p in photos)
                and all(v is None or isinstance(v, float)
                        for v in (r["latitude"], r["longitude"]))
                and (r["looks"] is None or isinstance(r["looks"], bool))):
            raise ValueError("not a group")
        found.append(FoundPlace(r["id"], tuple(photos), r["latitude"], r["longitude"],
                                r["looks"]))
    return found
