# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules, in memory: what is added, what counts as already there, what untag removes."""

from __future__ import annotations

from photolm.bundle import Landmark
from photolm.metadata import rules
from photolm.metadata.fields import (
    DC_NS,
    IPTC_UTF8,
    PHOTOSHOP_NS,
    TagSet,
    clean_text,
    truncate_utf8,
)
from photolm.metadata.marker import read_marker
from photolm.metadata.xmp import XmpDocument

KEYWORDS = "Iptc.Application2.Keywords"
XP = "Exif.Image.XPKeywords"


def _tagset(name: str = "Eiffel Tower", city: str | None = "Paris") -> TagSet:
    return TagSet.from_landmark(Landmark("lm", name, (), city, "France", 48.8584, 2.2945),
                                0.9, "model-1")


def _snapshot(keywords: list[str], *, iptc: dict[str, object] | None = None,
              xp: str | None = None) -> rules.Snapshot:
    doc = XmpDocument.new()
    for keyword in keywords:
        doc.append_list(DC_NS, "subject", keyword)
    exif = {"Exif.Image.Make": "Canon", **({XP: xp} if xp is not None else {})}
    return rules.Snapshot(doc, iptc=iptc, exif=exif, xp_keywords=True)


def test_tag_then_untag_restores_every_field() -> None:
    snap = _snapshot(["Holiday"], iptc={KEYWORDS: ["Holiday"]}, xp="Holiday")
    tagged, changes, _notes = rules.retag(snap, _tagset(), rules.TagOptions(), seeds={})
    assert {str(c) for c in changes} >= {"+ XMP-dc:Subject: Eiffel Tower",
                                         "+ IPTC:Keywords: Eiffel Tower",
                                         "+ EXIF:XPKeywords: Eiffel Tower"}
    untagged, removed, _ = rules.unmark(tagged)
    assert len(removed) == len(changes)
    assert rules.diff(snap, untagged) == []
    assert untagged.xmp.to_text() == snap.xmp.to_text()
    assert untagged.iptc == snap.iptc and untagged.exif == snap.exif


def test_keyword_already_there_is_recorded_and_kept() -> None:
    snap = _snapshot(["EIFFEL TOWER"], iptc={KEYWORDS: "eiffel tower"})
    tagged, _changes, _ = rules.retag(snap, _tagset(), rules.TagOptions(), seeds={})
    marker = read_marker(tagged.xmp)
    assert marker is not None
    assert {(e.field, e.value) for e in marker.pre_existing} >= {
        ("dc:subject", "Eiffel Tower"), ("IPTC:Keywords", "Eiffel Tower")}
    assert tagged.xmp.get_list(DC_NS, "subject") == ["EIFFEL TOWER"]
    untagged, _, _ = rules.unmark(tagged)
    assert untagged.xmp.get_list(DC_NS, "subject") == ["EIFFEL TOWER"]
    assert untagged.iptc == {KEYWORDS: "eiffel tower"}


def test_a_keyword_added_by_a_person_after_photolm_stays() -> None:
    snap = _snapshot([])
    tagged, _, _ = rules.retag(snap, _tagset(), rules.TagOptions(), seeds={})
    tagged.xmp.append_list(DC_NS, "subject", "Night")
    untagged, _, _ = rules.unmark(tagged)
    assert untagged.xmp.get_list(DC_NS, "subject") == ["Night"]


def test_a_value_changed_by_a_person_after_photolm_stays() -> None:
    tagged, _, _ = rules.retag(_snapshot([]), _tagset(), rules.TagOptions(), seeds={})
    tagged.xmp.set_text(PHOTOSHOP_NS, "City", "Paris 7e")
    untagged, changes, _ = rules.unmark(tagged)
    assert untagged.xmp.get_text(PHOTOSHOP_NS, "City") == "Paris 7e"
    assert "XMP-photoshop:City" not in {c.label for c in changes}


def test_non_ascii_iptc_declares_utf8_and_untag_takes_the_declaration_back() -> None:
    snap = _snapshot([], iptc={KEYWORDS: ["Holiday"]})
    tagged, _, _ = rules.retag(snap, _tagset("Sacré-Cœur", None), rules.TagOptions(),
                               seeds={})
    assert tagged.iptc is not None
    assert tagged.iptc["Iptc.Envelope.CharacterSet"] == IPTC_UTF8
    untagged, _, _ = rules.unmark(tagged)
    assert untagged.iptc == {KEYWORDS: ["Holiday"]}


def test_iptc_is_not_written_when_the_photo_has_none() -> None:
    tagged, changes, _ = rules.retag(_snapshot([]), _tagset(), rules.TagOptions(), seeds={})
    assert tagged.iptc is None
    assert not [c for c in changes if c.label.startswith("IPTC")]


def test_estimated_location_only_without_gps_and_only_when_asked() -> None:
    def gps_fields(options: rules.TagOptions) -> dict[str, str]:
        tagged, _, _ = rules.retag(_snapshot([]), _tagset(), options, seeds={})
        return {k: v for k, v in (tagged.exif or {}).items() if k.startswith("Exif.GPS")}

    assert gps_fields(rules.TagOptions(write_location=False, photo_has_gps=False)) == {}
    assert gps_fields(rules.TagOptions(write_location=True, photo_has_gps=True)) == {}
    written = gps_fields(rules.TagOptions(write_location=True, photo_has_gps=False))
    assert written["Exif.GPSInfo.GPSLatitude"] == "48/1 51/1 302400/10000"
    assert written["Exif.GPSInfo.GPSLongitudeRef"] == "E"
    assert "ESTIMATED" in written["Exif.GPSInfo.GPSProcessingMethod"]


def test_coordinate_formats() -> None:
    assert rules.exif_dms(-33.8568) == "33/1 51/1 244800/10000"
    assert rules.exif_dms(59.99999999) == "60/1 0/1 0/10000"
    assert rules.xmp_coordinate(-22.9519, "NS") == "22,57.114000S"
    assert rules.xmp_coordinate(-43.2105, "EW") == "43,12.630000W"


def test_text_cleaning_and_byte_cuts() -> None:
    assert clean_text("  Tour\tEiffel\n(Paris)\x00 ") == "Tour Eiffel (Paris)"
    assert truncate_utf8("Sacré-Cœur", 5) == "Sacr"  # never half of "é"
    assert truncate_utf8("Sacré-Cœur", 6) == "Sacré"
    assert truncate_utf8("short", 64) == "short"
    tagset = _tagset("A|B/C", "Paris")
    assert tagset.lightroom_keyword == "Places|France|Paris|A-B/C"
    assert tagset.digikam_tag == "Places/France/Paris/A|B-C"
    assert _tagset(city=None).hierarchy == ("Places", "France", "Eiffel Tower")
