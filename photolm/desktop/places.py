# SPDX-License-Identifier: GPL-3.0-or-later
"""The unnamed-places page's one dependency: groups of photos no landmark claims.

``photolm places`` (issue 12) finds them and ``photolm places name ID NAME`` enrols one; the
desktop shows each group as a strip of thumbnails with a "name this place" field. The page
talks to a :class:`PlacesSource` so it can be built and tested before, and independently
of, the library that finds the groups; :func:`library_source` binds the real one when this
photolm has it, and the page is left out of the menu when it does not.
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
    """``photolm.places``' functions, called the way its CLI calls them."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def groups(self, catalog_path: Path) -> Sequence[PlaceGroup]:
        found = self.module.find_places(catalog_path)
        return [g if isinstance(g, PlaceGroup) else PlaceGroup.from_json(
            g if isinstance(g, Mapping) else g.to_json()) for g in found]

    def name(self, catalog_path: Path, group_id: str, name: str) -> None:
        self.module.name_place(catalog_path, group_id, name)


def library_source() -> PlacesSource | None:
    """The real source when this photolm has ``photolm.places`` (issue 12), else ``None``."""
    try:
        module = importlib.import_module("photolm.places")
    except ImportError:
        return None
    if not all(callable(getattr(module, f, None)) for f in ("find_places", "name_place")):
        return None
    return _LibrarySource(module)
