# SPDX-License-Identifier: GPL-3.0-or-later
"""The unnamed-places page's one dependency: groups of photos no landmark claims.

``photolm places`` (issue 12) finds them and ``photolm places name ID NAME`` enrols one; the
desktop shows each group as a strip of thumbnails with a "name this place" field. The page
talks to a :class:`PlacesSource` so it can be built and tested before, and independently
of, the library that finds the groups; :func:`library_source` binds the real one
(``photolm.learning.find_places`` / ``learn``) when this photolm has it, and the page is left
out of the menu when it does not. Naming a group uses the group's photos as examples and its
GPS position as the landmark's, as ``photolm places name`` does.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class PlaceGroup:
    """One group as ``photolm places --json`` reports it."""

    id: str
    size: int
    photos: tuple[str, ...]
    examples: tuple[str, ...]
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlaceGroup:
        return cls(str(data["id"]), int(data["size"]), tuple(map(str, data.get("photos", ()))),
                   tuple(map(str, data.get("examples", ()))), data.get("latitude"),
                   data.get("longitude"))


class PlacesSource(Protocol):
    def groups(self, catalog_path: Path) -> Sequence[PlaceGroup]: ...

    def name(self, catalog_path: Path, group_id: str, name: str) -> None: ...


class _LibrarySource:
    """``photolm.learning``'s ``find_places`` and ``learn``, called as ``photolm places`` and
    ``photolm places name`` call them (issue 12; bound by name, so a change of that API shows
    up as this page missing, never as a traceback)."""

    def __init__(self, module: Any, model: Path | None) -> None:
        self.module = module
        self.model = model

    def groups(self, catalog_path: Path) -> Sequence[PlaceGroup]:
        from photolm.bundle import load_bundle
        from photolm.catalog import Catalog

        bundle = load_bundle(self.model)
        with Catalog.open(catalog_path, write=False) as cat:
            found = self.module.find_places(cat, bundle)
        return [PlaceGroup.from_json(g.to_json()) for g in found]

    def name(self, catalog_path: Path, group_id: str, name: str) -> None:
        from photolm.bundle import load_bundle
        from photolm.catalog import Catalog
        from photolm.errors import UsageError

        group = {g.id: g for g in self.groups(catalog_path)}.get(group_id)
        if group is None:
            raise UsageError(f"No place {group_id!r} now; reload the page to see the current "
                             "groups.")
        bundle = load_bundle(self.model)
        with Catalog.open(catalog_path, write=True, create=False) as cat:
            self.module.learn(cat, bundle, name, [Path(p) for p in group.photos],
                              latitude=group.latitude, longitude=group.longitude,
                              embed=self.module.onnx_embed_fn(bundle))


def library_source(model: Path | None = None) -> PlacesSource | None:
    """The real source when this photolm has issue 12's ``photolm.learning``, else ``None``."""
    try:
        module = importlib.import_module("photolm.learning")
    except ImportError:
        return None
    if not all(callable(getattr(module, f, None))
               for f in ("find_places", "learn", "onnx_embed_fn")):
        return None
    return _LibrarySource(module, model)
