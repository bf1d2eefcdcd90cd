# SPDX-License-Identifier: GPL-3.0-or-later
"""An offline map of where photos were taken: a world outline and dots, no tile server.

The outline is Natural Earth's 1:110m land (public domain) as TopoJSON from the npm package
``world-atlas`` 2.0.2 (ISC licence, ``static/world-atlas.LICENSE``), 55 KB shipped in
``static/``. It is decoded here (quantised, delta-encoded arcs) into one SVG path in a plate
carrée projection; photos with GPS are grouped to 0.1° (about 10 km) and drawn as dots that
link to the photo, or to the list of the group's photos under the map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.catalog import Catalog

WIDTH, HEIGHT = 1000, 500
LAND = Path(__file__).resolve().parent / "static" / "land-110m.json"


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    count: int
    photo_id: int
    label: str
    at: str  # the group's rounded position, "48.9,2.3": /map?at= lists its photos


def project(lon: float, lat: float) -> tuple[float, float]:
    """Plate carrée onto the WIDTH x HEIGHT canvas."""
    return (lon + 180.0) * WIDTH / 360.0, (90.0 - lat) * HEIGHT / 180.0


def _arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


@lru_cache(maxsize=1)
def outline_path() -> str:
    """The land outline as an SVG path ``d`` attribute (made once per process)."""
    topology = json.loads(LAND.read_text(encoding="utf-8"))
    arcs = _arcs(topology)
    parts: list[str] = []
    for geometry in topology["objects"]["land"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            for ring in polygon:
                points: list[tuple[float, float]] = []
                for index in ring:
                    arc = arcs[index] if index >= 0 else arcs[~index][::-1]
                    points.extend(arc if not points else arc[1:])
                if points:
                    parts.append(_ring(points))
    return "".join(parts)


def _ring(points: list[tuple[float, float]]) -> str:
    """One ring as SVG path commands; a step across the antimeridian (Russia, Fiji,
    Antarctica) lifts the pen instead of drawing a line across the whole map."""
    out: list[str] = []
    previous: float | None = None
    for lon, lat in points:
        x, y = project(lon, lat)
        jump = previous is None or abs(lon - previous) > 180.0
        out.append(f"{'M' if jump else 'L'}{x:.1f} {y:.1f}")
        previous = lon
    return "".join(out) + "Z"


def photo_points(catalog: Catalog) -> list[MapPoint]:
    """Photos with a GPS position, grouped to 0.1°, biggest groups drawn last (on top)."""
    rows = catalog.gps_places(precision=1)
    points = []
    for lat, lon, count, photo_id in rows:
        x, y = project(float(lon), float(lat))
        label = f"{counted(int(count), 'photo')} near {lat:.1f}, {lon:.1f}"
        points.append(MapPoint(round(x, 1), round(y, 1), int(count), int(photo_id), label,
                               f"{float(lat)!r},{float(lon)!r}"))
    points.sort(key=lambda p: p.count)
    return points


def count_at(points: list[MapPoint], where: tuple[float, float]) -> int:
    """How many photos the dot at ``where`` (a :func:`parse_at` position) stands for, as the
    dot counts them; 0 where there is no dot."""
    return next((p.count for p in points if parse_at(p.at) == where), 0)


def parse_at(text: str) -> tuple[float, float] | None:
    """``"48.9,2.3"`` (a dot's :attr:`MapPoint.at`) as numbers; ``None`` for anything else."""
    import math

    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        return None
    return lat, lon
