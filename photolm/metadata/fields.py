# SPDX-License-Identifier: GPL-3.0-or-later
"""What photolm writes for one recognised landmark, and under which names.

Every field photolm may touch is declared once here (:data:`FIELDS`), with the name it is
recorded under in the photolm marker (``dc:subject``, ``IPTC:Keywords``...), the label users
see (ExifTool's ``Group:Tag`` spelling, so ``--dry-run`` output can be checked with
``exiftool -G1``), where it lives and its IPTC byte limit. The planner, the writers, the
verifier and the marker all work from this table, so a field cannot be written without also
being recorded, verified and removable.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Literal

from photolm.bundle import Landmark
from photolm.errors import TagError

# --- XMP namespaces --------------------------------------------------------------------------
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
DC_NS = "http://purl.org/dc/elements/1.1/"
LR_NS = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM_NS = "http://www.digikam.org/ns/1.0/"
IPTC_CORE_NS = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
PHOTOSHOP_NS = "http://ns.adobe.com/photoshop/1.0/"
EXIF_NS = "http://ns.adobe.com/exif/1.0/"
# photolm's own namespace. The ``.invalid`` top-level domain is reserved (RFC 2606), so this
# URI can never collide with anybody else's. It is an identifier, never fetched; it must not
# change, or photolm would no longer recognise what it wrote.
PHOTOLM_NS = "http://photolm.invalid/ns/tags/1.0/"

PREFIXES: dict[str, str] = {
    RDF_NS: "rdf",
    X_NS: "x",
    DC_NS: "dc",
    LR_NS: "lr",
    DIGIKAM_NS: "digiKam",
    IPTC_CORE_NS: "Iptc4xmpCore",
    IPTC_EXT_NS: "Iptc4xmpExt",
    PHOTOSHOP_NS: "photoshop",
    EXIF_NS: "exif",
    PHOTOLM_NS: "photolm",
}

# Keywords go under this root of the keyword tree, as Lightroom's and digiKam's own location
# keywords do, so they never mix with a person's subject keywords.
HIERARCHY_ROOT = "Places"

# IPTC IIM (the old binary IPTC block) has hard byte limits per dataset; longer values are
# rejected or cut by other tools, so photolm cuts them itself, at a character boundary.
IPTC_KEYWORD_BYTES = 64
IPTC_SUBLOCATION_BYTES = 32
IPTC_CITY_BYTES = 32
IPTC_COUNTRY_BYTES = 64
IPTC_UTF8 = "\x1b%G"  # ISO 2022 escape sequence that declares UTF-8 in Iptc.Envelope.CharacterSet

Store = Literal["xmp", "iptc", "exif"]
Kind = Literal["list", "text", "struct"]


@dataclass(frozen=True)
class FieldSpec:
    """One metadata field photolm may write.

    ``id`` is what the marker records, ``label`` what people read. For XMP fields ``ns`` and
    ``name`` locate the property (``array`` is the container a new list gets); for IPTC and
    EXIF ``key`` is exiv2's key. Empty strings and 0 mean "not applicable".
    """

    id: str
    label: str
    store: Store
    kind: Kind
    ns: str = ""
    name: str = ""
    array: Literal["Bag", "Seq"] = "Bag"
    key: str = ""
    byte_limit: int = 0


def _xmp(fid: str, label: str, ns: str, name: str, kind: Kind = "text",
         array: Literal["Bag", "Seq"] = "Bag") -> FieldSpec:
    return FieldSpec(fid, label, "xmp", kind, ns=ns, name=name, array=array)


SUBJECT = _xmp("dc:subject", "XMP-dc:Subject", DC_NS, "subject", "list", "Bag")
HIERARCHICAL = _xmp("lr:hierarchicalSubject", "XMP-lr:HierarchicalSubject", LR_NS,
                    "hierarchicalSubject", "list", "Bag")
TAGS_LIST = _xmp("digiKam:TagsList", "XMP-digiKam:TagsList", DIGIKAM_NS, "TagsList", "list",
                 "Seq")
LOCATION = _xmp("Iptc4xmpCore:Location", "XMP-iptcCore:Location", IPTC_CORE_NS, "Location")
LOCATION_SHOWN = _xmp("Iptc4xmpExt:LocationShown", "XMP-iptcExt:LocationShown", IPTC_EXT_NS,
                      "LocationShown", "struct", "Bag")
CITY = _xmp("photoshop:City", "XMP-photoshop:City", PHOTOSHOP_NS, "City")
COUNTRY = _xmp("photoshop:Country", "XMP-photoshop:Country", PHOTOSHOP_NS, "Country")
STATE = _xmp("photoshop:State", "XMP-photoshop:State", PHOTOSHOP_NS, "State")
COUNTRY_CODE = _xmp("Iptc4xmpCore:CountryCode", "XMP-iptcCore:CountryCode", IPTC_CORE_NS,
                    "CountryCode")
XMP_GPS_LATITUDE = _xmp("exif:GPSLatitude", "XMP-exif:GPSLatitude", EXIF_NS, "GPSLatitude")
XMP_GPS_LONGITUDE = _xmp("exif:GPSLongitude", "XMP-exif:GPSLongitude", EXIF_NS, "GPSLongitude")
XMP_GPS_DATUM = _xmp("exif:GPSMapDatum", "XMP-exif:GPSMapDatum", EXIF_NS, "GPSMapDatum")
XMP_GPS_METHOD = _xmp("exif:GPSProcessingMethod", "XMP-exif:GPSProcessingMethod", EXIF_NS,
                      "GPSProcessingMethod")

IPTC_KEYWORDS = FieldSpec("IPTC:Keywords", "IPTC:Keywords", "iptc", "list",
                          key="Iptc.Application2.Keywords", byte_limit=IPTC_KEYWORD_BYTES)
IPTC_SUBLOCATION = FieldSpec("IPTC:Sub-location", "IPTC:Sub-location", "iptc", "text",
                             key="Iptc.Application2.SubLocation",
                             byte_limit=IPTC_SUBLOCATION_BYTES)
IPTC_CITY = FieldSpec("IPTC:City", "IPTC:City", "iptc", "text", key="Iptc.Application2.City",
                      byte_limit=IPTC_CITY_BYTES)
IPTC_COUNTRY = FieldSpec("IPTC:Country-PrimaryLocationName",
                         "IPTC:Country-PrimaryLocationName", "iptc", "text",
                         key="Iptc.Application2.CountryName", byte_limit=IPTC_COUNTRY_BYTES)
IPTC_STATE = FieldSpec("IPTC:Province-State", "IPTC:Province-State", "iptc", "text",
                       key="Iptc.Application2.ProvinceState", byte_limit=IPTC_CITY_BYTES)
IPTC_COUNTRY_CODE = FieldSpec("IPTC:Country-PrimaryLocationCode",
                              "IPTC:Country-PrimaryLocationCode", "iptc", "text",
                              key="Iptc.Application2.CountryCode", byte_limit=3)
IPTC_CHARSET = FieldSpec("IPTC:CodedCharacterSet", "IPTC:CodedCharacterSet", "iptc", "text",
                         key="Iptc.Envelope.CharacterSet")

XP_KEYWORDS = FieldSpec("EXIF:XPKeywords", "EXIF:XPKeywords", "exif", "list",
                        key="Exif.Image.XPKeywords")


def _gps(tag: str) -> FieldSpec:
    return FieldSpec(f"EXIF:{tag}", f"GPS:{tag}", "exif", "text", key=f"Exif.GPSInfo.{tag}")


EXIF_GPS_VERSION = _gps("GPSVersionID")
EXIF_GPS_LAT_REF = _gps("GPSLatitudeRef")
EXIF_GPS_LATITUDE = _gps("GPSLatitude")
EXIF_GPS_LON_REF = _gps("GPSLongitudeRef")
EXIF_GPS_LONGITUDE = _gps("GPSLongitude")
EXIF_GPS_DATUM = _gps("GPSMapDatum")
EXIF_GPS_METHOD = _gps("GPSProcessingMethod")
EXIF_GPS_FIELDS = (EXIF_GPS_VERSION, EXIF_GPS_LAT_REF, EXIF_GPS_LATITUDE, EXIF_GPS_LON_REF,
                   EXIF_GPS_LONGITUDE, EXIF_GPS_DATUM, EXIF_GPS_METHOD)
XMP_GPS_FIELDS = (XMP_GPS_LATITUDE, XMP_GPS_LONGITUDE, XMP_GPS_DATUM, XMP_GPS_METHOD)

XMP_LIST_FIELDS = (SUBJECT, HIERARCHICAL, TAGS_LIST)
XMP_TEXT_FIELDS = (LOCATION, CITY, STATE, COUNTRY, COUNTRY_CODE, *XMP_GPS_FIELDS)
IPTC_FIELDS = (IPTC_KEYWORDS, IPTC_SUBLOCATION, IPTC_CITY, IPTC_STATE, IPTC_COUNTRY,
               IPTC_COUNTRY_CODE, IPTC_CHARSET)
EXIF_FIELDS = (XP_KEYWORDS, *EXIF_GPS_FIELDS)
FIELDS: tuple[FieldSpec, ...] = (*XMP_LIST_FIELDS, LOCATION_SHOWN, *XMP_TEXT_FIELDS,
                                 *IPTC_FIELDS, *EXIF_FIELDS)
FIELDS_BY_ID: dict[str, FieldSpec] = {spec.id: spec for spec in FIELDS}

# Written into GPSProcessingMethod (EXIF and XMP) with an estimated location, so that anyone
# looking at the photo in another tool can tell the position is not from the camera.
ESTIMATED_METHOD = "ESTIMATED from recognised landmark (photolm)"


@dataclass(frozen=True)
class FieldChange:
    """One human-readable line of a plan: ``+`` adds, ``-`` removes, ``~`` replaces."""

    label: str
    action: Literal["add", "remove", "change"]
    value: str
    old: str | None = None

    def __str__(self) -> str:
        if self.action == "change":
            return f"~ {self.label}: {self.old} -> {self.value}"
        return f"{'+' if self.action == 'add' else '-'} {self.label}: {self.value}"


def clean_text(value: str) -> str:
    """A metadata-safe one-line string: whitespace runs become one space, control and
    unpaired surrogate characters go (XML 1.0 cannot carry most of them, and a newline in a
    keyword breaks every keyword list that tools display)."""
    kept = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in value)
    return " ".join(kept.split())


def truncate_utf8(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    raw = value.encode("utf-8")
    if len(raw) <= limit:
        return value
    return raw[:limit].decode("utf-8", errors="ignore").rstrip()


def _optional(value: str | None) -> str | None:
    return (clean_text(value) or None) if value else None


def _country_code(value: str | None) -> str | None:
    """An ISO 3166-1 code (two or three ASCII letters) or nothing: IPTC readers match it
    against the standard's list, so anything else would be worse than no code."""
    code = (value or "").strip().upper()
    return code if 2 <= len(code) <= 3 and code.isascii() and code.isalpha() else None


@dataclass(frozen=True)
class TagSet:
    """Everything photolm writes for one photo, derived from one landmark.

    Built with :meth:`from_landmark`; all strings are already cleaned. ``score`` and
    ``model_id`` only go into the photolm marker, so a later run can tell which model said so.
    """

    landmark_id: str
    name: str
    city: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    score: float
    model_id: str

    @classmethod
    def from_landmark(cls, landmark: Landmark, score: float, model_id: str) -> TagSet:
        name = clean_text(landmark.name)
        if not name:
            raise TagError(f"landmark {landmark.id!r} has no usable name to write as a tag.")
        if not math.isfinite(score):
            raise TagError(f"score for {name} is not a number ({score!r}); nothing written.")
        lat, lon = landmark.latitude, landmark.longitude
        usable = (lat is not None and lon is not None and math.isfinite(lat)
                  and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180)
        return cls(
            landmark_id=clean_text(landmark.id) or name,
            name=name,
            city=_optional(landmark.city),
            country=_optional(landmark.country),
            region=_optional(landmark.region),
            country_code=_country_code(landmark.country_code),
            latitude=lat if usable else None,
            longitude=lon if usable else None,
            score=float(score),
            model_id=clean_text(model_id),
        )

    region: str | None = None  # province / state
    country_code: str | None = None  # ISO 3166-1 alpha-2, upper case

    @property
    def hierarchy(self) -> tuple[str, ...]:
        """``("Places", country, city, name)``, skipping what is unknown."""
        parts = [HIERARCHY_ROOT, self.country, self.city, self.name]
        return tuple(part for part in parts if part)

    @property
    def lightroom_keyword(self) -> str:
        """``Places|France|Paris|Eiffel Tower``: Lightroom's separator is ``|``, so one inside
        a name would split it; it becomes ``-``."""
        return "|".join(part.replace("|", "-") for part in self.hierarchy)

    @property
    def digikam_tag(self) -> str:
        """``Places/France/Paris/Eiffel Tower``: digiKam's separator is ``/`` (same rule)."""
        return "/".join(part.replace("/", "-") for part in self.hierarchy)

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class Entry:
    """One value photolm wrote (or found already there), as recorded in the marker."""

    field: str
    value: str

    def encode(self) -> str:
        return f"{self.field}={self.value}"

    @classmethod
    def decode(cls, text: str) -> Entry | None:
        """The entry in ``text``, or ``None`` for a field this photolm does not know (a newer
        photolm's marker: leaving its fields alone is the safe choice)."""
        field, sep, value = text.partition("=")
        if not sep or field not in FIELDS_BY_ID:
            return None
        return cls(field, value)

    @property
    def spec(self) -> FieldSpec:
        return FIELDS_BY_ID[self.field]
