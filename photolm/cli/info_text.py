# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm info`` for a person: the figures ``--json`` holds, under labels in words.

``--json``'s keys are for scripts (``embedding_dim``, ``learned_unrecognisable``); a person
reading ``model embedding_dim  512`` has to know the JSON to understand it. Every key a
section knows gets a label here; one it does not know yet (a key added to ``--json`` later)
is still shown, its underscores made spaces, so nothing ``--json`` says is hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from photolm.cli.output import Field, print_sections
from photolm.learned import DESCRIPTOR, FROM_BUILT_IN, FROM_MANIFEST, FUSED
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.scan import Concurrency

# section key -> heading, then (key, label) in the order a person reads them
_SECTIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "catalog": ("Catalogue", (
        ("path", "file"),
        ("photos", "photos"),
        ("with_landmark", "with a landmark"),
        ("errors", "could not be read"),
        ("missing", "files gone"),
        ("reviewed", "answered by you"),
        ("tagged", "tagged"),
        ("learned_landmarks", "learned landmarks"),
        ("learned_examples", "learned from"),
        ("learned_unrecognisable", "no longer recognised"),
        ("last_scan", "last scan"),
        ("scanned_with", "scanned with"),
        ("file_bytes", "size"),
        ("schema_version", "schema version"),
    )),
    "model": ("Model", (
        ("name", "name"),
        ("path", "folder"),
        ("id", "id"),
        ("created", "created"),
        ("landmarks", "landmarks"),
        ("prototypes", "prototypes"),
        ("embedding_dim", "embedding size"),
        ("precision", "weights"),
        ("threshold", "threshold"),
        ("descriptor", "place descriptor"),
        ("learning", "learning"),
        ("metrics", "measured"),
        ("scanned_with", "photos scanned with it"),
        ("error", "error"),
    )),
    "runtime": ("Runtime", (
        ("provider", "runs on"),
        ("requested", "asked for"),
        ("error", "error"),
    )),
}
_PATHS = {("catalog", "path"), ("model", "path")}  # printed whole, never wrapped
_SCAN_THREADS = ("scan_workers", "threads_per_run", "model_runs", "model_threads")


def render_info(data: Mapping[str, Any], threads: Concurrency | None) -> None:
    """``info``'s sections on stdout. The scan's threads are told from ``threads``, the
    object ``--json``'s keys are made from, never by reading those keys' words back."""
    sections: list[tuple[str, list[Field]]] = [("", [Field("photolm", str(data["version"]))])]
    for section, (heading, known) in _SECTIONS.items():
        values: dict[str, Any] = dict(data.get(section) or {})
        if section == "catalog" and "note" in values:  # "not created yet"
            values["path"] = f"{values['path']} ({values.pop('note')})"
        fields = [Field(label, _words(section, key, values[key], values),
                        whole=(section, key) in _PATHS)
                  for key, label in known if key in values]
        if isinstance(values.get("last_scan"), dict) and values["last_scan"].get("roots"):
            at = next(i for i, f in enumerate(fields) if f.label == "last scan") + 1
            fields.insert(at, Field("scanned", ", ".join(values["last_scan"]["roots"]),
                                    whole=True))  # paths: never wrapped mid-name
        fields += [Field(key.replace("_", " "), _plain(value))
                   for key, value in values.items()
                   if key not in dict(known) and key not in _SCAN_THREADS]
        if section == "runtime" and threads is not None:
            fields.append(Field("scan threads", _scan_threads(threads, values["provider"])))
        sections.append((heading, [f for f in fields if f.value]))
    print_sections(sections)


def _words(section: str, key: str, value: Any, values: Mapping[str, Any]) -> str:
    """One figure as a person reads it."""
    special: dict[str, Callable[[], str]] = {
        "learned_examples": lambda: counted(value, "example photo"),
        "learned_unrecognisable": lambda: (
            ", ".join(value) + " (example photos gone: learn again)" if value else "none"),
        "last_scan": lambda: _last_scan(value),
        "scanned_with": lambda: _scanned_with(section, value),
        "file_bytes": lambda: f"{int(value) / 1e6:.1f} MB",
        "created": lambda: _when(value),
        "threshold": lambda: (f"{value:.4f}: a photo whose best score is lower shows "
                              "\"no landmark\""),
        "metrics": lambda: _metrics(value, values.get("threshold")),
        "descriptor": lambda: _descriptor(value),
        "learning": lambda: _learning(value),
    }
    if key in special and (value is not None or key == "descriptor"):  # None: it has none
        return special[key]()
    return _plain(value)


def _scanned_with(section: str, value: Any) -> str:
    """The catalogue's model (its name and folder), or whether the model shown is it."""
    if section == "model":
        return ("yes" if value else "no: the catalogue's photos were scanned with another "
                "(scanned with, above); photolm scan recognises them with this one")
    name = value.get("name") or f"model {value.get('id')}"
    return f"{name} ({value['path']})" if value.get("path") else name


def _descriptor(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "none: learn and places use the fine-tuned embedding"
    return f"yes ({value['dim']}-d, for learning and places)"


_SPACES = {FUSED: "the fused space (place descriptor and embedding)",
           DESCRIPTOR: "the place descriptor"}


def _learning(value: Mapping[str, Any]) -> str:
    """Where learned landmarks' thresholds come from, photolm.learned's decision in words:
    without measured ones a taught place finds fewer of its photos (README, "How well it
    works"), which a person can change by measuring them."""
    table = value["thresholds"]
    ks = sorted(table, key=int)
    shown = " to ".join(f"k={k} {_plain(table[k])}" for k in dict.fromkeys((ks[0], ks[-1])))
    space = _SPACES.get(value["space"], "the fine-tuned embedding")
    if value["thresholds_from"] == FROM_MANIFEST:
        return f"thresholds measured for this model ({shown}), in {space}"
    if value["thresholds_from"] == FROM_BUILT_IN:
        return f"thresholds photolm measured for this network ({shown}), in {space}"
    return (f"no measured thresholds: learning uses the model threshold {_plain(table[ks[0]])}"
            " in its embedding (finds fewer photos; python -m export.descriptor measures "
            "them)")


def _plain(value: Any) -> str:
    if isinstance(value, list):  # words, not a Python list's repr
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):  # nested figures: --json has them
        return ", ".join(f"{k.replace('_', ' ')} {_plain(v)}" for k, v in value.items()
                         if not isinstance(v, dict | list))
    return "" if value is None else str(value)


def _when(stamp: str) -> str:
    """``2026-12-07 12:32 UTC`` from ``2026-12-07T12:32:21+00:00`` (photolm stores UTC)."""
    text = str(stamp)
    return f"{text[:16].replace('T', ' ')} UTC" if text.endswith("+00:00") else text


def _last_scan(scan: Mapping[str, Any]) -> str:
    """``2026-12-08 01:03 UTC: 101 photos found, 0 recognised now, 92 skipped as unchanged``:
    the scan summary's words. A re-scan recognises only new or changed photos; "101 found,
    0 recognised" alone read as if none had a landmark."""
    counts = scan.get("counts") or {}
    when = scan.get("finished") or scan.get("started")
    found = counts.get("found")
    unchanged = counts.get("skipped_unchanged")
    return (f"{_when(when) if when else '?'}: "
            f"{counted(found, 'photo') if isinstance(found, int) else '? photos'} found, "
            f"{counts.get('processed', '?')} recognised now"
            + (f", {unchanged} skipped as unchanged"
               if isinstance(unchanged, int) and unchanged else ""))


def _percent(x: float) -> str:
    return f"{100 * x:.1f} %"


def _metrics(metrics: Mapping[str, Any], threshold: object) -> str:
    """The bundle's evaluation in a sentence: what was measured, on how many photos. Keys
    this does not know are listed after it, by name."""
    m = dict(metrics)
    parts: list[str] = []
    for key, label in (("top1", "top-1"), ("top5", "top-5")):
        if isinstance(m.get(key), float):
            parts.append(f"{label} {_percent(m.pop(key))}")
    at = [f"{label} {_percent(m.pop(key))}" for key, label in
          (("recall_at_threshold", "recall"), ("precision_at_threshold", "precision"))
          if isinstance(m.get(key), float)]
    if at:
        parts.append(" and ".join(at) + " at the threshold")
    if "gap" in m:
        gap = f"global average precision {_plain(m.pop('gap'))}"
        if "gap_with_distractors" in m:
            gap += f" ({_plain(m.pop('gap_with_distractors'))} with distractors)"
        parts.append(gap)
    text = ", ".join(parts)
    if "images" in m:
        where = f" ({m.pop('evaluated_on')})" if "evaluated_on" in m else ""
        text += f" on {counted(m.pop('images'), 'photo')}{where}"
    if "fpr" in m and "distractor_images" in m:
        negatives = counted(m.pop("distractor_images"), "distractor photo")
        text += f"; {_percent(m.pop('fpr'))} of {negatives} named as a landmark"
    if m.get("threshold") == threshold:
        m.pop("threshold")
    rest = _plain({k: v for k, v in m.items() if not (k == "unreadable_photos" and not v)})
    return "; ".join(t for t in (text, rest) if t) or "not measured"


def _scan_threads(threads: Concurrency, provider: str) -> str:
    """The scan's threads in words: on the CPU every worker runs the model on the photo it
    read, so the cores in use are workers x threads a run, not one session's threads."""
    per_run = threads.threads_per_run
    runs = counted(per_run, "onnxruntime thread")
    if threads.in_workers:
        text = (f"{counted(threads.workers, 'worker')}, each reading a photo and running the "
                f"model on it with {runs}: {threads.model_threads} at once")
    else:
        text = (f"{counted(threads.workers, 'worker', 'reads')} photos; one thread runs the "
                f"model on whole batches on {provider} with {runs}")
    return text + "; scan --workers and --threads change these"
