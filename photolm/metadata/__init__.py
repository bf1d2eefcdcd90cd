# SPDX-License-Identifier: GPL-3.0-or-later
"""Landmark tags in photo metadata, written safely and reversibly (issue 5).

The CLI uses four calls::

    plan = plan_tags(photo, landmark, score, model_id, mode="sidecar")   # or "embed"
    print(plan)                       # --dry-run: one line per field change
    outcome = apply_tags(plan)        # outcome.status, outcome.message
    remove_tags(photo)                # photolm untag: exactly what photolm wrote

and :func:`gps_evidence` during a scan. See ``docs/tags.md`` for what is written where and
why; each module's docstring explains its part:

* :mod:`~photolm.metadata.fields` - the fields, their names and limits; :class:`TagSet`
* :mod:`~photolm.metadata.rules` - what is added and removed (pure, in memory)
* :mod:`~photolm.metadata.xmp` - a careful XMP packet editor; :mod:`~photolm.metadata.marker`
* :mod:`~photolm.metadata.api` - choosing where; :mod:`~photolm.metadata.plan` - plans
* :mod:`~photolm.metadata.inplace` - into the photo itself; :mod:`~photolm.metadata.sidecar`
  - beside it; :mod:`~photolm.metadata.containers` - placing XMP/IPTC blocks byte-exactly
* :mod:`~photolm.metadata.embedded` (exiv2), :mod:`~photolm.metadata.exiftool` (HEIC)
* :mod:`~photolm.metadata.undo` - what a write replaced, for byte-exact untag
* :mod:`~photolm.metadata.atomic` - temp file, fsync, verify, rename
* :mod:`~photolm.metadata.verify`, :mod:`~photolm.metadata.imagedata` - the checks before a rename

Nothing here imports pyexiv2 until a photo is actually read or written.
"""

from photolm.metadata.api import (
    TagOutcome,
    TagPlan,
    TargetPlan,
    apply_tags,
    plan_tags,
    plan_untag,
    read_photolm_marker,
    remove_tags,
)
from photolm.metadata.atomic import TEMP_PREFIX
from photolm.metadata.fields import PHOTOLM_NS, Entry, FieldChange, TagSet
from photolm.metadata.marker import PhotolmMarker
from photolm.metadata.sidecar import sidecar_path

__all__ = [
    "PHOTOLM_NS",
    "TEMP_PREFIX",
    "Entry",
    "FieldChange",
    "PhotolmMarker",
    "TagOutcome",
    "TagPlan",
    "TagSet",
    "TargetPlan",
    "apply_tags",
    "plan_tags",
    "plan_untag",
    "read_photolm_marker",
    "remove_tags",
    "sidecar_path",
]
