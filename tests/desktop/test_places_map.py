# SPDX-License-Identifier: GPL-3.0-or-later
"""The unnamed-places page behind its adapter, and the offline map's outline."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from photolm.desktop.places import PlaceGroup, library_source
from photolm.desktop.security import csrf_token
from tests.desktop.conftest import BASE, TOKEN, make_settings


class FakePlaces:
    """Stands in for `photolm places` (issue 12): one group of the two Colosseum photos."""

    def __init__(self, photos: Path) -> None:
        rome = sorted(str(p) for p in (photos / "rome").iterdir())
        self.group = PlaceGroup("g1", len(rome), tuple(rome), tuple(rome), 41.89, 12.49)
        self.named: list[tuple[str, str]] = []

    def groups(self, catalog_path: Path) -> list[PlaceGroup]:
        return [self.group]

    def name(self, catalog_path: Path, group_id: str, name: str) -> None:
        self.named.append((group_id, name))


@pytest.fixture
def places_client(library, tmp_path):
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app

    fake = FakePlaces(library.photos)
    app = create_app(make_settings(library, tmp_path, places=fake))
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        yield client, fake


def test_places_page_shows_each_group_as_a_strip_and_names_it(places_client) -> None:
    client, fake = places_client
    assert 'href="/places"' in client.get("/").text  # in the menu when the library has it
    html = client.get("/places").text
    assert "2 photos" in html and len(re.findall(r'<img src="/thumb/\d+"', html)) == 2
    res = client.post("/places/g1/name", data={"name": "Amphitheatre",
                                               "csrf": csrf_token(TOKEN)})
    assert res.status_code == 303 and fake.named == [("g1", "Amphitheatre")]
    assert "Learned Amphitheatre." in client.get(res.headers["location"]).text


def test_without_the_places_library_the_page_is_left_out(client) -> None:
    assert 'href="/places"' not in client.get("/").text
    assert client.get("/places").status_code == 404


def test_the_adapter_binds_the_places_library_when_there_is_one() -> None:
    try:
        import photolm.learning as module
    except ImportError:
        assert library_source() is None
    else:  # issue 12 landed: the adapter finds its functions
        assert (library_source() is not None) == all(
            callable(getattr(module, f, None)) for f in ("find_places", "learn", "onnx_embed_fn"))


def test_the_outline_never_draws_across_the_antimeridian() -> None:
    from photolm.desktop.worldmap import WIDTH, outline_path

    path = outline_path()
    for sub in re.findall(r"M[^MZ]*", path):
        xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+) ", sub)]
        assert all(abs(a - b) < WIDTH / 2 for a, b in itertools.pairwise(xs))
    assert path.count("M") > 100  # continents and islands, not an empty canvas
