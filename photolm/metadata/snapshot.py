# SPDX-License-Identifier: GPL-3.0-or-later
"""The metadata of one target file, as the rules read and edit it (in memory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from photolm.metadata.fields import IPTC_EXT_NS
from photolm.metadata.xmp import XmpDocument, qname

SUBLOCATION = qname(IPTC_EXT_NS, "Sublocation")
STRUCT_CITY = qname(IPTC_EXT_NS, "City")
STRUCT_COUNTRY = qname(IPTC_EXT_NS, "CountryName")
STRUCT_STATE = qname(IPTC_EXT_NS, "ProvinceState")
STRUCT_COUNTRY_CODE = qname(IPTC_EXT_NS, "CountryCode")
CHARSET_LABEL = "UTF8"


@dataclass
class Snapshot:
    """The metadata of one target file that the rules read and edit.

    ``iptc`` is ``None`` when photolm must not write IPTC there (a sidecar, a photo without
    IPTC, or IPTC in an unknown character set: ``iptc_note`` says which); ``exif`` is ``None``
    when EXIF is not written there (sidecars, HEIC). ``xp_keywords`` is True for JPEG only,
    the one format whose Windows keywords the issue asks for.
    """

    xmp: XmpDocument
    iptc: dict[str, Any] | None = None
    exif: dict[str, str] | None = None
    xp_keywords: bool = False
    iptc_note: str | None = None

    def copy(self) -> Snapshot:
        return replace(self, xmp=self.xmp.copy(),
                       iptc=None if self.iptc is None else _copy_values(self.iptc),
                       exif=None if self.exif is None else dict(self.exif))


def _copy_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in values.items()}


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
