# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules for what photolm adds and removes, on metadata held in memory.

Pure functions over a :class:`Snapshot` (the XMP packet plus, for embedded writes, IPTC and
EXIF values): no files, no exiv2. The planner runs them on the original to show what would
change; the writer runs them again on the bytes it is about to rewrite; the verifier compares
what it reads back against the snapshot they produced. One set of rules, three uses.

The rules, field by field:

* Keyword lists (XMP ``dc:subject``, ``lr:hierarchicalSubject``, ``digiKam:TagsList``, IPTC
  ``Keywords``, Windows ``XPKeywords``): append photolm's value unless the list already holds
  it (compared case-insensitively); either way the marker says which.
* Single values (``photoshop:City``, ``Iptc4xmpCore:Location``...): set only when absent; a
  value a person entered is never replaced, even if it differs.
* ``Iptc4xmpExt:LocationShown``: append one structure unless one already names the landmark.
* Estimated location: only for photos without GPS, only when asked, marked as estimated.
* Removing: exactly the values the marker lists as added, and only while they still hold
  what photolm wrote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from photolm.metadata.changes import diff
from photolm.metadata.fields import (
    CITY,
    COUNTRY,
    COUNTRY_CODE,
    ESTIMATED_METHOD,
    EXIF_GPS_DATUM,
    EXIF_GPS_LAT_REF,
    EXIF_GPS_LATITUDE,
    EXIF_GPS_LON_REF,
    EXIF_GPS_LONGITUDE,
    EXIF_GPS_METHOD,
    EXIF_GPS_VERSION,
    FIELDS,
    HIERARCHICAL,
    IPTC_CHARSET,
    IPTC_CITY,
    IPTC_COUNTRY,
    IPTC_COUNTRY_CODE,
    IPTC_KEYWORDS,
    IPTC_STATE,
    IPTC_SUBLOCATION,
    IPTC_UTF8,
    LOCATION,
    LOCATION_SHOWN,
    STATE,
    SUBJECT,
    TAGS_LIST,
    XMP_GPS_DATUM,
    XMP_GPS_LATITUDE,
    XMP_GPS_LONGITUDE,
    XMP_GPS_METHOD,
    XP_KEYWORDS,
    Entry,
    FieldChange,
    FieldSpec,
    TagSet,
    truncate_utf8,
)
from photolm.metadata.marker import PhotolmMarker, read_marker, remove_marker, write_marker
from photolm.metadata.snapshot import (
    CHARSET_LABEL,
    STRUCT_CITY,
    STRUCT_COUNTRY,
    STRUCT_COUNTRY_CODE,
    STRUCT_STATE,
    SUBLOCATION,
    Snapshot,
)
from photolm.metadata.snapshot import as_list as _as_list
from photolm.metadata.xmp import XmpDocument, XmpShapeError

__all__ = ["Snapshot", "TagOptions", "diff", "retag", "tag", "unmark", "untag"]


@dataclass(frozen=True)
class TagOptions:
    """Per-photo choices that shape what is written."""

    write_location: bool = False
    photo_has_gps: bool = True
    photo_name: str | None = None  # sidecars: the file name of the photo it belongs to
    creating_sidecar: bool = False


@dataclass
class _Record:
    added: list[Entry] = field(default_factory=list)
    pre_existing: list[Entry] = field(default_factory=list)
    seeded: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def same(a: str, b: str) -> bool:
    """Keyword equality as people mean it: "eiffel tower" is "Eiffel Tower"."""
    return a.casefold() == b.casefold()


# --- tagging -------------------------------------------------------------------------------------
def tag(snap: Snapshot, tagset: TagSet, options: TagOptions, *,
        seeds: Mapping[str, Sequence[str]]) -> tuple[PhotolmMarker, list[str]]:
    """Edit ``snap`` in place so it carries ``tagset``; return the marker to record and notes.

    An earlier photolm marker is undone first (its seeded copies stay), so re-tagging with a
    corrected landmark replaces photolm's values and only them. ``seeds`` are the photo's own
    values of each list field (sidecar mode), copied into a new list so that tools which read
    the sidecar instead of the photo still see them.
    """
    old = read_marker(snap.xmp)
    record = _Record()
    if old is not None:
        untag(snap, old, keep_seeded=True)
        record.seeded = [e for e in old.seeded if _list_has(snap, e.spec, e.value, exact=True)]
    remove_marker(snap.xmp)

    for spec, value in ((SUBJECT, tagset.name), (HIERARCHICAL, tagset.lightroom_keyword),
                        (TAGS_LIST, tagset.digikam_tag)):
        _tag_xmp_list(snap.xmp, spec, value, seeds.get(spec.id, ()), record)
    place = ((CITY, tagset.city), (STATE, tagset.region), (COUNTRY, tagset.country),
             (COUNTRY_CODE, tagset.country_code))
    own = [spec for spec, _value in place if snap.xmp.has(spec.ns, spec.name)]
    if own:
        # City, state, country and code describe one place: never mix a person's with ours.
        for spec in own:
            try:
                current = snap.xmp.get_text(spec.ns, spec.name)
            except XmpShapeError:
                current = "?"
            record.notes.append(f"kept {spec.label} {current!r} (the photo names its own "
                                "place: no city, state or country written)")
        place = ()
    for spec, optional in ((LOCATION, tagset.name), *place):
        if optional is not None:
            _tag_xmp_text(snap.xmp, spec, optional, record)
    _tag_location_shown(snap.xmp, tagset, record)
    if snap.iptc is not None:
        _tag_iptc(snap.iptc, tagset, record)
    elif snap.iptc_note:
        record.notes.append(snap.iptc_note)
    if snap.exif is not None and snap.xp_keywords:
        _tag_xp_keywords(snap.exif, tagset.name, record)
    estimated = _tag_location(snap, tagset, options, record)

    marker = PhotolmMarker(
        landmark_id=tagset.landmark_id,
        landmark_name=tagset.name,
        score=tagset.score,
        model_id=tagset.model_id,
        added=tuple(record.added),
        pre_existing=tuple(record.pre_existing),
        seeded=tuple(record.seeded),
        photo_name=options.photo_name,
        created_sidecar=options.creating_sidecar or bool(old and old.created_sidecar),
        location_estimated=estimated,
    )
    return marker, record.notes


def _tag_xmp_list(doc: XmpDocument, spec: FieldSpec, value: str, seeds: Sequence[str],
                  record: _Record) -> None:
    try:
        current = doc.get_list(spec.ns, spec.name)
    except XmpShapeError as exc:
        record.notes.append(f"left {spec.label} alone: {exc}")
        return
    if current is None and seeds:
        doc.set_list(spec.ns, spec.name, list(seeds), spec.array)
        record.seeded += [Entry(spec.id, seed) for seed in seeds]
        current = list(seeds)
    if any(same(item, value) for item in current or ()):
        record.pre_existing.append(Entry(spec.id, value))
        return
    if current == []:  # an empty list was there: untag must leave it, empty
        record.pre_existing.append(Entry(spec.id, ""))
    doc.append_list(spec.ns, spec.name, value, spec.array)
    record.added.append(Entry(spec.id, value))


def _tag_xmp_text(doc: XmpDocument, spec: FieldSpec, value: str, record: _Record) -> None:
    try:
        current = doc.get_text(spec.ns, spec.name)
    except XmpShapeError as exc:
        record.notes.append(f"left {spec.label} alone: {exc}")
        return
    if current is None:
        doc.set_text(spec.ns, spec.name, value)
        record.added.append(Entry(spec.id, value))
    elif same(current, value):
        record.pre_existing.append(Entry(spec.id, value))
    else:
        record.notes.append(f"kept {spec.label} {current!r} (photolm would write {value!r})")


def _tag_location_shown(doc: XmpDocument, tagset: TagSet, record: _Record) -> None:
    spec = LOCATION_SHOWN
    try:
        structs = doc.get_structs(spec.ns, spec.name) or []
    except XmpShapeError as exc:
        record.notes.append(f"left {spec.label} alone: {exc}")
        return
    if any(same(s.get(SUBLOCATION, ""), tagset.name) for s in structs):
        record.pre_existing.append(Entry(spec.id, tagset.name))
        return
    fields = {SUBLOCATION: tagset.name}
    if tagset.city:
        fields[STRUCT_CITY] = tagset.city
    if tagset.region:
        fields[STRUCT_STATE] = tagset.region
    if tagset.country:
        fields[STRUCT_COUNTRY] = tagset.country
    if tagset.country_code:
        fields[STRUCT_COUNTRY_CODE] = tagset.country_code
    doc.append_struct(spec.ns, spec.name, fields, spec.array)
    record.added.append(Entry(spec.id, tagset.name))


def _tag_iptc(iptc: dict[str, Any], tagset: TagSet, record: _Record) -> None:
    wanted: list[tuple[FieldSpec, str | None]] = []
    place = [(IPTC_CITY, tagset.city), (IPTC_STATE, tagset.region),
             (IPTC_COUNTRY, tagset.country), (IPTC_COUNTRY_CODE, tagset.country_code)]
    own = [spec for spec, _value in place if spec.key in iptc]
    for spec in own:
        record.notes.append(f"kept {spec.label} {iptc[spec.key]!r} (the photo names its own "
                            "place: no city, state or country written)")
    if own:
        place = []
    for spec, value in ((IPTC_KEYWORDS, tagset.name), (IPTC_SUBLOCATION, tagset.name),
                        *place):
        if value is None:
            continue
        cut = truncate_utf8(value, spec.byte_limit)
        if cut != value:
            record.notes.append(f"{spec.label} cut to {spec.byte_limit} bytes: {cut!r}")
        wanted.append((spec, cut))
    needs_utf8 = not all(value.isascii() for _spec, value in wanted)
    if needs_utf8 and iptc.get(IPTC_CHARSET.key) != IPTC_UTF8:
        # decode_iptc only lets ASCII-only blocks through undeclared, so declaring UTF-8
        # cannot change how any existing value reads.
        iptc[IPTC_CHARSET.key] = IPTC_UTF8
        record.added.append(Entry(IPTC_CHARSET.id, CHARSET_LABEL))
    for spec, value in wanted:
        key = spec.key
        if spec.kind == "list":
            items = _as_list(iptc.get(key))
            if any(same(item, value) for item in items):
                record.pre_existing.append(Entry(spec.id, value))
            else:
                iptc[key] = [*items, value]
                record.added.append(Entry(spec.id, value))
        elif key not in iptc:
            iptc[key] = value
            record.added.append(Entry(spec.id, value))
        elif same(str(iptc[key]), value):
            record.pre_existing.append(Entry(spec.id, value))
        else:
            record.notes.append(f"kept {spec.label} {iptc[key]!r} (photolm would write "
                                f"{value!r})")


def _tag_xp_keywords(exif: dict[str, str], name: str, record: _Record) -> None:
    key = XP_KEYWORDS.key
    current = exif.get(key, "")
    if any(same(item.strip(), name) for item in current.split(";")):
        record.pre_existing.append(Entry(XP_KEYWORDS.id, name))
        return
    # Appended with the plain separator, so that untag can cut exactly this suffix off and
    # give back the person's string as it was, spacing included.
    exif[key] = f"{current};{name}" if current else name
    record.added.append(Entry(XP_KEYWORDS.id, name))


def _tag_location(snap: Snapshot, tagset: TagSet, options: TagOptions, record: _Record) -> bool:
    if not options.write_location:
        return False
    if options.photo_has_gps:
        record.notes.append("the photo has its own GPS position: no estimated location written")
        return False
    if tagset.latitude is None or tagset.longitude is None:
        record.notes.append(f"no coordinates known for {tagset.name}: no location written")
        return False
    lat, lon = tagset.latitude, tagset.longitude
    if snap.exif is not None:
        if any(key.startswith("Exif.GPSInfo.") for key in snap.exif):
            record.notes.append("the photo already has GPS fields: no estimated location written")
            return False
        values = {
            EXIF_GPS_VERSION: "2 3 0 0",
            EXIF_GPS_LAT_REF: "N" if lat >= 0 else "S",
            EXIF_GPS_LATITUDE: exif_dms(lat),
            EXIF_GPS_LON_REF: "E" if lon >= 0 else "W",
            EXIF_GPS_LONGITUDE: exif_dms(lon),
            EXIF_GPS_DATUM: "WGS-84",
            EXIF_GPS_METHOD: f"charset=Ascii {ESTIMATED_METHOD}",
        }
        for spec, value in values.items():
            snap.exif[spec.key] = value
            record.added.append(Entry(spec.id, value))
        return True
    if snap.xmp.has(XMP_GPS_LATITUDE.ns, "GPSLatitude") or snap.xmp.has(
            XMP_GPS_LATITUDE.ns, "GPSLongitude"):
        record.notes.append("the metadata already has a GPS position: no estimated location "
                            "written")
        return False
    xmp_values = {
        XMP_GPS_LATITUDE: xmp_coordinate(lat, "NS"),
        XMP_GPS_LONGITUDE: xmp_coordinate(lon, "EW"),
        XMP_GPS_DATUM: "WGS-84",
        XMP_GPS_METHOD: ESTIMATED_METHOD,
    }
    for spec, value in xmp_values.items():
        _tag_xmp_text(snap.xmp, spec, value, record)
    return True


def exif_dms(value: float) -> str:
    """EXIF's three rationals (degrees, minutes, seconds to 1/10000)."""
    units = round(abs(value) * 3600 * 10000)  # in 1/10000 of an arc second
    degrees, rest = divmod(units, 3600 * 10000)
    minutes, seconds = divmod(rest, 60 * 10000)
    return f"{degrees}/1 {minutes}/1 {seconds}/10000"


def xmp_coordinate(value: float, refs: str) -> str:
    """XMP's ``DDD,MM.mmmmmmR`` form (XMP specification part 2, GPSCoordinate)."""
    units = round(abs(value) * 60 * 1_000_000)  # in millionths of an arc minute
    degrees, minutes = divmod(units, 60 * 1_000_000)
    ref = refs[0] if value >= 0 else refs[1]
    return f"{degrees},{minutes / 1_000_000:.6f}{ref}"


# --- untagging -----------------------------------------------------------------------------------
def untag(snap: Snapshot, marker: PhotolmMarker, *, keep_seeded: bool) -> list[str]:
    """Remove what ``marker`` records as added (and, unless ``keep_seeded``, the seeded
    copies of lists nobody else has added to since). Does not remove the marker itself."""
    notes: list[str] = []
    # The IPTC character-set declaration last: it may only go once photolm's non-ASCII
    # values are gone.
    was_empty = {e.field for e in marker.pre_existing if e.value == ""}
    for entry in sorted(marker.added, key=lambda e: e.spec is IPTC_CHARSET):
        try:
            _remove_entry(snap, entry, keep_empty=entry.field in was_empty)
        except XmpShapeError as exc:
            notes.append(f"left {entry.spec.label} alone: {exc}")
    if not keep_seeded:
        _remove_seeded(snap, marker.seeded)
    return notes


def _remove_entry(snap: Snapshot, entry: Entry, *, keep_empty: bool = False) -> None:
    spec, value = entry.spec, entry.value
    if spec.store == "xmp":
        if spec.kind == "list":
            snap.xmp.remove_list_item(spec.ns, spec.name, value, keep_empty=keep_empty)
        elif spec.kind == "struct":
            snap.xmp.remove_struct(spec.ns, spec.name,
                                   lambda fields: fields.get(SUBLOCATION) == value)
        elif snap.xmp.get_text(spec.ns, spec.name) == value:
            snap.xmp.remove(spec.ns, spec.name)
    elif spec.store == "iptc" and snap.iptc is not None:
        _remove_iptc(snap.iptc, spec, value)
    elif spec.store == "exif" and snap.exif is not None:
        _remove_exif(snap.exif, spec, value)


def _remove_iptc(iptc: dict[str, Any], spec: FieldSpec, value: str) -> None:
    key = spec.key
    if key not in iptc:
        return
    if spec is IPTC_CHARSET:
        others = [v for k, v in iptc.items() if k != key]
        if iptc[key] == IPTC_UTF8 and all(_is_ascii(v) for v in others):
            del iptc[key]
        return
    if spec.kind == "list":
        items = _as_list(iptc[key])
        if value in items:
            index = len(items) - 1 - items[::-1].index(value)
            items = items[:index] + items[index + 1:]
            if items:
                iptc[key] = items
            else:
                del iptc[key]
    elif iptc[key] == value:
        del iptc[key]


def _remove_exif(exif: dict[str, str], spec: FieldSpec, value: str) -> None:
    key = spec.key
    current = exif.get(key)
    if current is None:
        return
    if spec is XP_KEYWORDS:
        if current == value:
            del exif[key]
        elif current.endswith(";" + value):
            exif[key] = current[: -len(value) - 1]
        else:
            items = current.split(";")
            hits = [i for i, item in enumerate(items) if item.strip() == value]
            if hits:
                del items[hits[-1]]
                exif[key] = ";".join(items)
    elif current == value:
        del exif[key]


def _remove_seeded(snap: Snapshot, seeded: Sequence[Entry]) -> None:
    """Drop a seeded list only when it holds nothing but the seeds: then it is exactly what
    photolm copied and removing it hides nothing; otherwise someone has since added to it
    and it stays whole."""
    by_field: dict[str, Counter[str]] = {}
    for entry in seeded:
        by_field.setdefault(entry.field, Counter())[entry.value] += 1
    for field_id, seeds in by_field.items():
        spec = next(s for s in FIELDS if s.id == field_id)
        if spec.store != "xmp" or spec.kind != "list":
            continue
        try:
            items = snap.xmp.get_list(spec.ns, spec.name)
        except XmpShapeError:
            continue
        if items is not None and not Counter(items) - seeds:
            snap.xmp.remove(spec.ns, spec.name)


def _list_has(snap: Snapshot, spec: FieldSpec, value: str, *, exact: bool) -> bool:
    if spec.store != "xmp" or spec.kind != "list":
        return False
    try:
        items = snap.xmp.get_list(spec.ns, spec.name) or []
    except XmpShapeError:
        return False
    return any(item == value if exact else same(item, value) for item in items)


def _is_ascii(value: Any) -> bool:
    return all(v.isascii() for v in _as_list(value))


def retag(snap: Snapshot, tagset: TagSet, options: TagOptions, *,
          seeds: Mapping[str, Sequence[str]]) -> tuple[Snapshot, list[FieldChange], list[str]]:
    """Plan tagging ``snap``: the edited copy, its changes and notes.

    When an earlier marker already records exactly these writes, nothing changes, not even
    the score: rewriting a photo only to update a number is not worth the risk.
    """
    work = snap.copy()
    old = read_marker(snap.xmp)
    marker, notes = tag(work, tagset, options, seeds=seeds)
    if old is not None and old.same_writes(marker):
        trial = work.copy()
        write_marker(trial.xmp, replace(marker, score=old.score, model_id=old.model_id))
        if not diff(snap, trial):
            return snap, [], notes
    write_marker(work.xmp, marker)
    return work, diff(snap, work), notes


def unmark(snap: Snapshot) -> tuple[Snapshot, list[FieldChange], list[str]]:
    """Plan untagging ``snap``: the edited copy (photolm's values and marker removed), its
    changes and notes. No marker, no change."""
    marker = read_marker(snap.xmp)
    if marker is None:
        return snap, [], []
    work = snap.copy()
    notes = untag(work, marker, keep_seeded=False)
    remove_marker(work.xmp)
    return work, diff(snap, work), notes
