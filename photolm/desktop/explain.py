# SPDX-License-Identifier: GPL-3.0-or-later
"""Why a photo has, or has not, a landmark: the stored decision told in sentences.

Nothing is re-decided here: the scan decided (:mod:`photolm.matching` against the bundle's
threshold, then :mod:`photolm.geo`) and stored its verdict, its top candidates, the GPS
reason and what the scores alone chose; a person's answer (:mod:`photolm.review`) outranks
it. This module only reads those columns back in the order a person asks about them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photolm.wording import apart

if TYPE_CHECKING:
    from photolm.catalog import PhotoRow

_REVIEWS = {
    "confirmed": "You confirmed it shows {name}.",
    "corrected": "You corrected it to {name}.",
    "none": "You said it shows no landmark.",
}


def why(row: PhotoRow, threshold: float | None) -> list[str]:
    """Sentences, most decisive first. ``threshold`` is the bundle's, when known."""
    lines: list[str] = []
    if row.review is not None:
        lines.append(_REVIEWS[row.review].format(name=row.review_landmark_name))
        lines.append("Your answer counts over the model's; a re-scan keeps it.")
    if row.error is not None:
        lines.append(f"It could not be read at the last scan: {row.error}")
        return lines
    if not row.topk:
        lines.append("It has not been recognised with a model yet.")
        return lines
    top = row.topk[0]
    if row.landmark_id is not None and row.score is not None:
        score, bar = _against(row.score, threshold)
        if threshold is not None and row.score < threshold:
            lines.append(f"The model chose {row.landmark_name} with {score}, just "
                         f"below {bar}, because GPS places the photo near it.")
        elif row.gps_changed and row.visual_landmark_name:
            lines.append(f"The scores alone put {row.visual_landmark_name} first "
                         f"({row.visual_score or 0:.2f}); GPS chose {row.landmark_name} "
                         f"({score}, at or above {bar}), the one the photo was taken "
                         "near.")
        else:
            lines.append(f"The model recognised {row.landmark_name} with {score}, at "
                         f"or above {bar}.")
    elif row.gps_changed and row.visual_landmark_name:
        lines.append(f"The scores alone chose {row.visual_landmark_name} "
                     f"({row.visual_score or 0:.2f}), but GPS ruled it out.")
    else:
        score, bar = _against(float(top["score"]), threshold)
        lines.append(f"No landmark: the best candidate, {top['name']}, scored "
                     f"{score}, below {bar}.")
    if row.gps_reason:
        lines.append(f"GPS: {row.gps_reason}.")
    elif row.latitude is None:
        lines.append("The photo has no GPS position, so only its looks counted.")
    return lines


def _against(score: float, threshold: float | None) -> tuple[str, str]:
    """A score and "the threshold 0.700" beside it, with the decimals that tell them apart
    (as ``photolm list`` prints them)."""
    shown, bar = apart(score, threshold)
    return shown, f"the threshold {bar}" if bar else "the threshold"
