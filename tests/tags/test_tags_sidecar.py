# SPDX-License-Identifier: GPL-3.0-or-later
"""Sidecars: an existing one is merged, never overwritten; re-tagging replaces only
photolm's values; untag gives the file back as other tools left it."""

from __future__ import annotations

from pathlib import Path

import pytest

from photolm.bundle import Landmark
from photolm.metadata import apply_tags, plan_tags, plan_untag, read_photolm_marker, remove_tags
from photolm.metadata.fields import DC_NS, LR_NS, PHOTOSHOP_NS
from photolm.metadata.xmp import XmpDocument
from tests.tags.photos import make_photo, plant_keywords

# What darktable leaves beside a photo: its own namespace, history, a person's keyword and
# a rating, some as attributes, with a comment in between.
DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dt="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmp:Rating="4"
    dt:xmp_version="5"
    dt:history_end="2">
   <!-- edited in darktable -->
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Holiday</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <dt:history>
    <rdf:Seq>
     <rdf:li dt:operation="exposure" dt:enabled="1" dt:params="0000a0400000"/>
     <rdf:li dt:operation="colorin" dt:enabled="1" dt:params="gz48eJxjZBgF"/>
    </rdf:Seq>
   </dt:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


@pytest.fixture
def louvre() -> Landmark:
    return Landmark("louvre", "Louvre", (), "Paris", "France", 48.8606, 2.3376)


def test_existing_sidecar_is_merged_and_restored_by_untag(tmp_path: Path,
                                                          eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    sidecar = tmp_path / "photo.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR, encoding="utf-8")

    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))

    text = sidecar.read_text(encoding="utf-8")
    for kept in ('xmp:Rating="4"', 'dt:operation="exposure"', 'dt:params="gz48eJxjZBgF"',
                 "<!-- edited in darktable -->", '<?xml version="1.0" encoding="UTF-8"?>',
                 "<rdf:li>Holiday</rdf:li>"):
        assert kept in text  # other tools' data and prefixes, exactly as they were
    doc = XmpDocument.parse(text)
    assert doc.get_list(DC_NS, "subject") == ["Holiday", "Eiffel Tower"]
    marker = read_photolm_marker(photo)
    assert marker is not None and not marker.created_sidecar

    outcome = remove_tags(photo)

    assert outcome.status == "removed"
    restored = XmpDocument.parse(sidecar.read_bytes())
    original = XmpDocument.parse(DARKTABLE_SIDECAR)
    assert restored.to_text() == original.to_text()


def test_retag_with_a_corrected_landmark_replaces_only_photolm_values(
        tmp_path: Path, eiffel: Landmark, louvre: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    sidecar = tmp_path / "photo.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))

    plan = plan_tags(photo, louvre, 0.8, "model-1")
    assert "  - XMP-dc:Subject: Eiffel Tower" in plan.describe()
    assert "  + XMP-dc:Subject: Louvre" in plan.describe()
    apply_tags(plan)

    doc = XmpDocument.parse(sidecar.read_bytes())
    assert doc.get_list(DC_NS, "subject") == ["Holiday", "Louvre"]
    assert doc.get_list(LR_NS, "hierarchicalSubject") == ["Places|France|Paris|Louvre"]
    assert doc.get_text(PHOTOSHOP_NS, "City") == "Paris"
    marker = read_photolm_marker(photo)
    assert marker is not None and marker.landmark_id == "louvre"


def test_same_landmark_with_a_new_score_changes_nothing(tmp_path: Path,
                                                        eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    before = photo.read_bytes()

    plan = plan_tags(photo, eiffel, 0.95, "model-2", mode="embed")
    outcome = apply_tags(plan)

    assert not plan.changed and outcome.status == "unchanged"
    assert photo.read_bytes() == before


def test_person_city_is_never_replaced(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    plant_keywords(photo, ["Holiday"], city="Paris 7e")

    plan = plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")
    apply_tags(plan)

    assert any("kept XMP-photoshop:City 'Paris 7e'" in line for line in plan.describe())
    doc = XmpDocument.parse(
        __import__("pyexiv2").ImageData(photo.read_bytes()).read_raw_xmp())
    assert doc.get_text(PHOTOSHOP_NS, "City") == "Paris 7e"
    remove_tags(photo)
    doc = XmpDocument.parse(
        __import__("pyexiv2").ImageData(photo.read_bytes()).read_raw_xmp())
    assert doc.get_text(PHOTOSHOP_NS, "City") == "Paris 7e"


def test_new_sidecar_carries_the_photo_keywords_so_no_tool_loses_them(
        tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    plant_keywords(photo, ["Holiday", "Family"])

    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))

    sidecar = tmp_path / "photo.jpg.xmp"
    doc = XmpDocument.parse(sidecar.read_bytes())
    assert doc.get_list(DC_NS, "subject") == ["Holiday", "Family", "Eiffel Tower"]
    marker = read_photolm_marker(photo, mode="sidecar")
    assert marker is not None
    assert [e.value for e in marker.seeded] == ["Holiday", "Family"]
    assert [e.value for e in marker.added if e.field == "dc:subject"] == ["Eiffel Tower"]

    remove_tags(photo)
    assert not sidecar.exists()  # only photolm's copy was in it


def test_seeded_keywords_stay_when_someone_added_to_the_sidecar(tmp_path: Path,
                                                                eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    plant_keywords(photo, ["Holiday"])
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))
    sidecar = tmp_path / "photo.jpg.xmp"
    doc = XmpDocument.parse(sidecar.read_bytes())
    doc.append_list(DC_NS, "subject", "Added in digiKam")  # another tool, later
    sidecar.write_bytes(doc.to_bytes())

    remove_tags(photo)

    doc = XmpDocument.parse(sidecar.read_bytes())
    assert doc.get_list(DC_NS, "subject") == ["Holiday", "Added in digiKam"]


def test_untag_without_marker_changes_nothing(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    plant_keywords(photo, ["Eiffel Tower"])
    before = photo.read_bytes()
    plan = plan_untag(photo)
    assert plan.describe() == [f"{photo}: no photolm tags to remove"]
    assert remove_tags(photo).status == "nothing-to-remove"
    assert photo.read_bytes() == before


def test_untag_only_the_sidecar_that_belongs_to_the_photo(tmp_path: Path,
                                                          eiffel: Landmark) -> None:
    jpeg = make_photo(tmp_path / "IMG_2.jpg")
    apply_tags(plan_tags(jpeg, eiffel, 0.9, "model-1", sidecar_style="lightroom"))
    tif = make_photo(tmp_path / "IMG_2.tif")  # appears later with the same stem

    assert read_photolm_marker(tif) is None
    assert remove_tags(tif).status == "nothing-to-remove"
    assert (tmp_path / "IMG_2.xmp").exists()
