# SPDX-License-Identifier: GPL-3.0-or-later
"""Why a photo has, or has not, a landmark: the stored decision told in sentences.

Nothing is re-decided here: the scan decided (:mod:`photolm.matching` against the bundle's
threshold, then :mod:`photolm.geo`) and stored its verdict, its top candidates, the GPS
reason and what the scores alone chose; a person's answer (:mod:`photolm.review`) outranks
it. This module only reads those columns back in the order a person asks about them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    bar = f"the threshold {threshold:.2f}" if threshold is not None else "the threshold"
    if row.landmark_id is not None and row.score is not None:
        if threshold is not None and row.score < threshold:
            lines.append(f"The model chose {row.landmark_name} with {row.score:.2f}, just "
                         f"below {bar}, because GPS places the photo near it.")
        elif row.gps_changed and row.visual_landmark_name:
            lines.append(f"The scores alone put {row.visual_landmark_name} first "
                         f"({row.visual_score or 0:.2f}); GPS chose {row.landmark_name} "
                         f"({row.score:.2f}, at or above {bar}), the one the photo was taken "
                         "near.")
        else:
            lines.append(f"The model recognised {row.landmark_name} with {row.score:.2f}, at "
                         f"or above {bar}.")
    elif row.gps_changed and row.visual_landmark_name:
        lines.append(f"The scores alone chose {row.visual_landmark_name} "
                     f"({row.visual_score or 0:.2f}), but GPS ruled it out.")
    else:
        lines.append(f"No landmark: the best candidate, {top['name']}, scored "
                     f"{float(top['score']):.2f}, below {bar}.")
    if row.gps_reason:
        lines.append(f"GPS: {row.gps_reason}.")
    elif row.latitude is None:
        lines.append("The photo has no GPS position, so only its looks counted.")
    return lines
