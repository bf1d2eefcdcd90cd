# SPDX-License-Identifier: GPL-3.0-or-later
"""Photos a new model took a learned landmark's name from, counted per landmark and worded
once for ``photolm scan`` and the desktop's Scan page.

A learned landmark's threshold comes from the bundle's manifest (or
``photolm.learned.MEASURED_THRESHOLDS``), and its prototypes are re-made for each network.
After an upgrade that raises that threshold, or ships another network, the scan re-decides
every catalogued photo: some photos the person saw named "Grandma's church" become "no
landmark" (or another landmark's) while their files did not change. A person who taught
photolm that place must hear it, once, with where to find them. Only photos whose file is
unchanged and that no person answered for count (an answer keeps counting over the model's
verdict), and never a learned landmark the new model cannot recognise at all, which the
scan already names in its own line (``unrecognisable_learned``). ``learn`` and ``unlearn``
re-match too, but those changes are the person's own doing and they report their counts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from photolm.printed_paths import printed
from photolm.wording import counted


@dataclass
class LostLearned:
    """One learned landmark's photos a changed model no longer names with it."""

    id: str
    name: str
    paths: list[str] = field(default_factory=list)  # as os.fsdecode gives them
    no_landmark: int = 0  # of them, now "no landmark": below its threshold
    uncertain: int = 0  # of those, close enough to it for `photolm list --uncertain`

    @property
    def photos(self) -> int:
        return len(self.paths)

    @property
    def renamed(self) -> int:
        """Of them, photos now named another landmark."""
        return self.photos - self.no_landmark

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "photos": self.photos,
                "no_landmark": self.no_landmark, "uncertain": self.uncertain,
                "paths": [printed(p) for p in self.paths]}

    def sentence(self) -> str:
        """What happened to its photos and where to find them: the CLI's ``note:`` line
        (after the landmark's name) and the desktop's notice."""
        why = "as the model changed (a new threshold or network)"
        head = f"{counted(self.photos, 'photo')} named it before"
        if not self.no_landmark:
            return f"{head} {_be(self.photos)} now named another landmark, {why}"
        below = f"below its threshold ({self._where()})"
        if not self.renamed:
            return f"{head} {_be(self.photos)} now {below}, {why}"
        return (f"{head} {_be(self.photos)} not any more, {why}: {self.no_landmark} "
                f"{_be(self.no_landmark)} {below}, {self.renamed} {_be(self.renamed)} named "
                "another landmark")

    def _where(self) -> str:
        """Where the photos below the threshold are shown."""
        them = "it" if self.no_landmark == 1 else "them"
        if self.uncertain == self.no_landmark:
            return f"`photolm list --uncertain` shows {them}"
        if self.uncertain:
            closest = "the one" if self.uncertain == 1 else "those"
            return (f"`photolm list --uncertain` shows {self.uncertain} of them, {closest} "
                    "closest to it")
        return f"too far below it for `photolm list --uncertain` to show {them}"


def _be(count: int) -> str:
    return "is" if count == 1 else "are"


def lost_learned(before: Mapping[int, tuple[str, str]],
                 after: Mapping[int, tuple[str, str | None, str | None]],
                 uncertain: Collection[int], *, names: Mapping[str, str],
                 unrecognisable: Collection[str] = ()) -> list[LostLearned]:
    """Compare the verdicts of photos re-decided for a changed model.

    ``before``: photo id -> (learned landmark id, name) the model gave it until now;
    ``after``: photo id -> (path, landmark id now, the photo's error now); ``uncertain``:
    the ids ``list --uncertain`` shows now; ``names``: the learned landmarks' names now (a
    name given since the verdict was stored wins). A photo that could not be read this time
    is no news of the model's (its error is reported on its own line)."""
    out: dict[str, LostLearned] = {}
    for photo_id, (landmark_id, name) in before.items():
        now = after.get(photo_id)
        if landmark_id in unrecognisable or now is None:
            continue
        path, landmark_now, error = now
        if error is not None or landmark_now == landmark_id:
            continue
        item = out.setdefault(landmark_id, LostLearned(landmark_id,
                                                       names.get(landmark_id, name)))
        item.paths.append(path)
        if landmark_now is None:
            item.no_landmark += 1
            item.uncertain += photo_id in uncertain
    for item in out.values():
        item.paths.sort()
    return sorted(out.values(), key=lambda item: (item.name.casefold(), item.id))
