# SPDX-License-Identifier: GPL-3.0-or-later
"""Field-level differences between two snapshots: what ``--dry-run`` shows, what the
verifier compares, what the rules use to tell whether anything changes at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from photolm.metadata.fields import (
    FIELDS,
    IPTC_CHARSET,
    IPTC_UTF8,
    XP_KEYWORDS,
    FieldChange,
    FieldSpec,
)
from photolm.metadata.marker import PhotolmMarker, read_marker
from photolm.metadata.snapshot import CHARSET_LABEL, SUBLOCATION, Snapshot, as_list
from photolm.metadata.xmp import XmpShapeError


def diff(before: Snapshot, after: Snapshot) -> list[FieldChange]:
    """The field-level changes from ``before`` to ``after``, in :data:`FIELDS` order, then
    the marker. Lists compare as multisets (order carries no meaning in a bag)."""
    changes: list[FieldChange] = []
    for spec in FIELDS:
        old, new = _values(before, spec), _values(after, spec)
        if old is None and new is None:
            continue
        if spec.kind in ("list", "struct"):
            changes += _list_changes(spec, old or [], new or [])
        elif old != new:
            if new is None:
                changes.append(FieldChange(spec.label, "remove", _show(spec, old)))
            elif old is None:
                changes.append(FieldChange(spec.label, "add", _show(spec, new)))
            else:
                changes.append(FieldChange(spec.label, "change", _show(spec, new),
                                           _show(spec, old)))
    old_marker, new_marker = read_marker(before.xmp), read_marker(after.xmp)
    if old_marker != new_marker:
        if new_marker is None:
            changes.append(FieldChange("XMP-photolm", "remove", _describe(old_marker)))
        elif old_marker is None:
            changes.append(FieldChange("XMP-photolm", "add", _describe(new_marker)))
        else:
            changes.append(FieldChange("XMP-photolm", "change", _describe(new_marker),
                                       _describe(old_marker)))
    return changes


def _values(snap: Snapshot, spec: FieldSpec) -> Any:
    """The field's value(s) in ``snap``: a list for lists and structures (structures as
    canonical strings of all their fields), a string for single values, None when absent."""
    if spec.store == "xmp":
        try:
            if spec.kind == "list":
                return snap.xmp.get_list(spec.ns, spec.name)
            if spec.kind == "struct":
                structs = snap.xmp.get_structs(spec.ns, spec.name)
                return None if structs is None else [_struct_key(s) for s in structs]
            return snap.xmp.get_text(spec.ns, spec.name)
        except XmpShapeError:
            return None
    values = snap.iptc if spec.store == "iptc" else snap.exif
    if values is None or spec.key not in values:
        return None
    value = values[spec.key]
    if spec is XP_KEYWORDS:
        return value.split(";")
    if spec.kind == "list":
        return as_list(value)
    return value


def _struct_key(fields: Mapping[str, str]) -> str:
    name = fields.get(SUBLOCATION, "?")
    rest = sorted((k, v) for k, v in fields.items() if k != SUBLOCATION)
    return name + "".join(f"\x00{k}={v}" for k, v in rest)


def _show(spec: FieldSpec, value: Any) -> str:
    if spec is IPTC_CHARSET:
        return CHARSET_LABEL if value == IPTC_UTF8 else repr(value)
    return str(value)


def _list_changes(spec: FieldSpec, old: list[str], new: list[str]) -> list[FieldChange]:
    def shown(item: str) -> str:
        return item.split("\x00", 1)[0]  # structures: show the landmark name only

    removed, added = Counter(old) - Counter(new), Counter(new) - Counter(old)
    out: list[FieldChange] = []
    for item in old:
        if removed[item] > 0:
            removed[item] -= 1
            out.append(FieldChange(spec.label, "remove", shown(item)))
    for item in new:
        if added[item] > 0:
            added[item] -= 1
            out.append(FieldChange(spec.label, "add", shown(item)))
    return out


def _describe(marker: PhotolmMarker | None) -> str:
    if marker is None:
        return "none"
    score = "?" if marker.score is None else f"{marker.score:.4f}"
    return f"marker ({marker.landmark_name}, score {score}, model {marker.model_id[:12]})"
