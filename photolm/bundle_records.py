# SPDX-License-Identifier: GPL-3.0-or-later
"""The bundle's records: what a bundle says, as frozen dataclasses, checked on construction.

Kept apart from :mod:`photolm.bundle` (which reads, verifies and writes the files) so each
file holds one job; :mod:`photolm.bundle` re-exports every name here, and that module is the
one to import from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photolm.errors import BundleError

if TYPE_CHECKING:  # numpy is imported where used: `photolm search` needs Landmark, not numpy
    import numpy as np

MAX_INPUT_SIDE = 4096  # pixels; bounds what a (possibly edited) manifest can make us allocate
_MAX_NORM = 1000.0  # largest |mean| or |std| a bundle's preprocessing may use
_MIN_STD = 1e-6


@dataclass(frozen=True)
class Preprocess:
    """How to turn a decoded RGB photo into the model's input tensor.

    Mirrors timm's pretrained config (input size, crop_pct, interpolation, mean/std) because
    that is what the trainer used; photolm must reproduce it exactly for embeddings to match.
    """

    size: int = 224
    resize: int = 256  # shorter side is resized to this, then centre-cropped to ``size``
    crop: str = "center"  # "center" or "none" (resize straight to size x size)
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def __post_init__(self) -> None:
        if self.crop not in ("center", "none"):
            raise BundleError(f"Unknown crop mode {self.crop!r} in bundle preprocessing.")
        if self.interpolation not in ("bicubic", "bilinear", "nearest", "lanczos"):
            raise BundleError(f"Unknown interpolation {self.interpolation!r} in bundle.")
        if self.size <= 0 or self.resize < self.size:
            raise BundleError("Bundle preprocessing needs 0 < size <= resize.")
        if self.resize > MAX_INPUT_SIDE:
            raise BundleError(f"Bundle preprocessing resizes to {self.resize} px; more than "
                              f"{MAX_INPUT_SIDE} px is not a photo model's input.")
        # A wrong length would only fail later, inside the scan's decode threads.
        for label, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise BundleError(f"Bundle preprocessing needs three finite {label} values.")
        # Finite is not enough: (pixel - 1.7e38) / std overflows float32 to -inf, which the
        # model turns into NaN vectors. Bounded values keep every input finite (a pixel is
        # in [0, 1], or [0, 255] for a bundle that normalises raw values).
        if any(abs(v) > _MAX_NORM for v in self.mean):
            raise BundleError(f"Bundle preprocessing mean values must lie within "
                              f"±{_MAX_NORM:g}.")
        if any(not _MIN_STD <= abs(v) <= _MAX_NORM for v in self.std):
            raise BundleError(f"Bundle preprocessing std values must lie within "
                              f"{_MIN_STD:g} and {_MAX_NORM:g} (either sign).")


# The id prefix of a landmark a person taught photolm (``photolm learn``; photolm.learned):
# here, beside the record, so name lookups tell such a landmark from the model's own.
LEARNED_PREFIX = "learned:"


@dataclass(frozen=True)
class Landmark:
    """A landmark the model knows. Places may be unknown (``None``)."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # Province / state / region, and the ISO 3166-1 alpha-2 country code: the IPTC location
    # fields want a real place hierarchy, not "Canaima National Park (Bolívar)" as a city.
    region: str | None = None
    country_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Landmark:
        try:
            lat, lon = data.get("latitude"), data.get("longitude")
            return cls(
                id=str(data["id"]),
                name=str(data["name"]),
                aliases=tuple(str(a) for a in data.get("aliases") or ()),
                city=data.get("city") or None,
                country=data.get("country") or None,
                latitude=None if lat is None else float(lat),
                longitude=None if lon is None else float(lon),
                region=data.get("region") or None,
                country_code=(str(data["country_code"]).upper()
                              if data.get("country_code") else None),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BundleError(f"Malformed landmark record {str(data)[:200]!r}: {exc}.") from None


@dataclass(frozen=True)
class Calibration:
    """How the "no landmark" threshold was chosen, recorded so users can judge it."""

    target_fpr: float
    fpr: float
    precision: float
    recall: float
    positives: int
    negatives: int


@dataclass(frozen=True)
class Descriptor:
    """The graph's optional second output: a generic, L2-normalised place descriptor.

    ``threshold`` is the cosine similarity above which a photo matches a place enrolled from
    a few example photos (calibrated by the exporter for a false-positive rate on non-landmark
    photos); ``method`` says in words how the descriptor is made.

    ``gate`` (optional; bundles before it have none): the least cosine between a photo's
    descriptor and the named shipped landmark's descriptor prototype for the fine-tuned
    match to stand. The fine-tuned embedding names faces and crowds as landmarks; the generic
    descriptor knows they are not buildings (calibrated by export/gate.py).
    """

    output_name: str
    dim: int
    threshold: float
    method: str = ""
    gate: float | None = None

    def __post_init__(self) -> None:
        if not self.output_name or self.dim <= 0:
            raise BundleError("A bundle descriptor needs an output name and a positive size.")
        if not -1.0 <= float(self.threshold) <= 1.0:  # also refuses NaN
            raise BundleError(f"Descriptor threshold {self.threshold} is not a cosine "
                              "similarity in [-1, 1].")
        if self.gate is not None and not -1.0 <= float(self.gate) <= 1.0:
            raise BundleError(f"Descriptor gate {self.gate} is not a cosine similarity in "
                              "[-1, 1].")

    def to_json(self) -> dict[str, Any]:
        """The manifest record; ``gate`` only when set, so gateless bundles read as before."""
        data = asdict(self)
        if self.gate is None:
            del data["gate"]
        return data


# The cuts of photolm.places.Cuts, in its field order (tests/test_bundle.py keeps them equal).
CUT_NAMES = ("alike", "nearby", "same_spot", "join", "same_visit")


@dataclass(frozen=True)
class PlaceValues:
    """How ``photolm places`` groups photos with this bundle's vectors, measured for its
    network (``scripts/eval_enrolment.py --write-places``); stored in the manifest as
    ``metrics.places``.

    ``cuts``: per vector space (``fused``, ``descriptor``, ``embedding``), the cosine-distance
    cuts of :class:`photolm.places.Cuts` by name. ``likeness``: the least cosine between a
    group's mean descriptor and a shipped landmark's descriptor prototype for the group to
    look like a place. Both are properties of one network: a bundle whose network was never
    measured has neither, and photolm uses the values it measured for the shipped network.
    """

    cuts: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    likeness: float | None = None
    rule: str = ""

    def __post_init__(self) -> None:
        for space, cuts in self.cuts.items():
            if not isinstance(space, str) or not space:
                raise BundleError(f"places cuts name a vector space {space!r}; a space is "
                                  "a non-empty name.")
            missing = [n for n in CUT_NAMES if n not in cuts]
            if missing:
                raise BundleError(f"places cuts for {space} lack {', '.join(missing)}.")
            for name in CUT_NAMES:
                value = cuts[name]
                low = "(0" if name == "alike" else "[0"  # alike 0 would group everything
                if (not _is_number(value) or not 0.0 <= value <= 2.0
                        or (name == "alike" and value == 0.0)):
                    raise BundleError(f"places cut {space}.{name} = {value!r} is not a "
                                      f"cosine distance in {low}, 2].")
        if self.likeness is not None and (not _is_number(self.likeness)
                                          or not -1.0 <= self.likeness <= 1.0):
            raise BundleError(f"places likeness {self.likeness!r} is not a cosine "
                              "similarity in [-1, 1].")

    def to_json(self) -> dict[str, Any]:
        """The manifest record (``metrics.places``); ``likeness`` only when set."""
        data: dict[str, Any] = {
            "cuts": {space: {n: float(cuts[n]) for n in CUT_NAMES}
                     for space, cuts in sorted(self.cuts.items())},
            "rule": self.rule,
        }
        if self.likeness is not None:
            data["likeness"] = float(self.likeness)
        return data

    @classmethod
    def from_json(cls, data: object) -> PlaceValues:
        """Read ``metrics.places``; cuts a newer exporter adds are ignored, not fatal."""
        if not isinstance(data, Mapping):
            raise BundleError(f"places must be a table, not {type(data).__name__}.")
        cuts = data.get("cuts") or {}
        if not isinstance(cuts, Mapping) or not all(isinstance(c, Mapping)
                                                    for c in cuts.values()):
            raise BundleError("places cuts must be a table of tables (space -> cut -> value).")
        return cls(cuts={space: {n: c[n] for n in CUT_NAMES if n in c}
                         for space, c in cuts.items()},
                   likeness=data.get("likeness"), rule=str(data.get("rule") or ""))


def _is_number(value: object) -> bool:
    """A finite int or float, not a bool or a string (a manifest is edited by hand)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True)
class Bundle:
    """A verified bundle, ready for the runtime. Build it with :func:`read_bundle`."""

    path: Path
    name: str
    bundle_id: str  # sha256 of manifest.json: changes when anything in the bundle changes
    model_id: str  # sha256 of model.onnx: embeddings stay valid while this is unchanged
    model_path: Path
    input_name: str
    output_name: str
    embedding_dim: int
    precision: str
    preprocess: Preprocess
    threshold: float
    landmarks: tuple[Landmark, ...]
    prototypes: np.ndarray  # (P, D) float32, unit rows
    prototype_landmark: np.ndarray  # (P,) int32 index into ``landmarks``
    calibration: Calibration | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    descriptor: Descriptor | None = None
    # (Q, G) float32 unit rows + (Q,) int32 owners: the shipped landmarks in descriptor space,
    # so a learned place and a shipped landmark can be compared in one space. Empty if none.
    descriptor_prototypes: np.ndarray | None = None
    descriptor_prototype_landmark: np.ndarray | None = None
    # metrics.places, read: the places values measured for this network (None: never)
    places: PlaceValues | None = None

    @property
    def short_id(self) -> str:
        return self.bundle_id[:12]
