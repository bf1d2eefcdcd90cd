# SPDX-License-Identifier: GPL-3.0-or-later
"""What a tag plan is: the files it rewrites, their field changes, and what came of it.

Shared by the two writers (:mod:`~photolm.metadata.inplace` into the photo itself,
:mod:`~photolm.metadata.sidecar` beside it) and by :mod:`~photolm.metadata.api`, which
chooses between them, so that neither writer needs the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from photolm.metadata import rules
from photolm.metadata.fields import FieldChange, TagSet
from photolm.printed_paths import printed

if TYPE_CHECKING:
    from photolm.metadata.sidecar import SidecarStyle

Mode = Literal["sidecar", "embed"]
Method = Literal["exiv2", "exiftool", "sidecar"]
Action = Literal["tag", "untag"]
Status = Literal["written", "unchanged", "removed", "nothing-to-remove"]


@dataclass(frozen=True)
class TargetPlan:
    """One file a plan rewrites: the photo itself, or its sidecar."""

    path: Path
    method: Method
    kind: str  # sniffed image format for embedded writes, "xmp" for sidecars
    changes: tuple[FieldChange, ...]
    notes: tuple[str, ...] = ()
    exists: bool = True  # False: a sidecar that will be created
    delete: bool = False  # untag: a sidecar photolm created, now empty, will be removed
    # Whose sidecar this is when not the plan's photo's: the photo's old path (a sidecar
    # left behind, see plan_untag) or a camera RAW of the same shot (plan_tags' companions).
    owner: Path | None = None


@dataclass(frozen=True)
class TagPlan:
    """What :func:`apply_tags` would change for one photo. Print :meth:`describe`."""

    photo: Path
    action: Action
    mode: Mode | Literal["any"]
    targets: tuple[TargetPlan, ...]
    tagset: TagSet | None = None
    write_location: bool = False
    photo_has_gps: bool = True
    sidecar_style: SidecarStyle = "darktable"
    fallback_reason: str | None = None
    notes: tuple[str, ...] = ()
    raw: bool = False  # a camera RAW file: tags go to a sidecar whatever the mode

    @property
    def changed(self) -> bool:
        return any(target.changes for target in self.targets)

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        return tuple(change for target in self.targets for change in target.changes)

    def describe(self) -> list[str]:
        """Human-readable lines: the file(s), then one line per field change, then notes."""
        photo = printed(self.photo)
        lines: list[str] = []
        if self.fallback_reason:
            lines.append(f"{photo}: {self.fallback_reason} - will write a sidecar instead")
        if not self.changed:
            what = "no photolm tags to remove" if self.action == "untag" else "no change"
            lines.append(f"{photo}: {what}")
        for target in self.targets:
            if not target.changes:
                continue
            if target.method == "sidecar":
                state = ("remove sidecar" if target.delete
                         else "sidecar" if target.exists else "new sidecar")
                owner = printed(target.owner) if target.owner else photo
                lines.append(f"{owner} -> {printed(target.path)} ({state})")
            else:
                lines.append(f"{photo} (embedded, {target.method})")
            lines += [f"  {change}" for change in target.changes]
        for note in (*self.notes, *(n for t in self.targets for n in t.notes)):
            lines.append(f"  note: {note}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.describe())


@dataclass(frozen=True)
class TagOutcome:
    """What :func:`apply_tags` did for one photo. :attr:`message` is one line for the user
    and the catalogue."""

    photo: Path
    action: Action
    status: Status
    files: tuple[Path, ...] = ()  # files rewritten, created or deleted
    changes: tuple[FieldChange, ...] = ()
    fallback_reason: str | None = None
    notes: tuple[str, ...] = ()
    landmark: str | None = None

    @property
    def message(self) -> str:
        photo = printed(self.photo)
        where = ", ".join(printed(f) for f in self.files)
        if self.status == "written":
            text = f"tagged {photo} with {self.landmark} ({where})"
        elif self.status == "unchanged":
            text = f"{photo} already carries {self.landmark}: unchanged"
        elif self.status == "removed":
            text = f"removed photolm tags from {photo} ({where})"
        else:
            text = f"{photo}: no photolm tags to remove"
        if self.fallback_reason:
            text = f"{self.fallback_reason} - wrote a sidecar instead; {text}"
        return text


class CannotEmbed(Exception):
    """photolm cannot write into this photo without changing more than its tags."""


def compute(action: Action, snap: rules.Snapshot, tagset: TagSet | None,
             options: rules.TagOptions, seeds: dict[str, list[str]]
             ) -> tuple[rules.Snapshot, list[FieldChange], list[str]]:
    if action == "tag":
        if tagset is None:  # a TagPlan built by hand without a landmark
            raise ValueError("a tag plan needs a tagset")
        return rules.retag(snap, tagset, options, seeds=seeds)
    return rules.unmark(snap)


def purpose(action: Action) -> str:
    return "tag it" if action == "tag" else "remove photolm's tags"


def verb(plan: TagPlan) -> str:
    return "tags into" if plan.action == "tag" else "photolm's tags from"
