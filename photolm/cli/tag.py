# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm tag``: write recognised landmarks into photo metadata, safely and reversibly.

Also home of the rendering ``untag`` and ``scan --write-tags`` share: a progress bar on a
terminal, one warning line per photo that failed, one note line per sidecar fallback and per
note the write left (a value of the person's kept, no undo copy kept), the plan on stdout for
``--dry-run``, and one closing line. The work itself is :mod:`photolm.tagging`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from photolm.cli.options import (
    CatalogOpt,
    DryRunOpt,
    EmbedOpt,
    JsonOpt,
    PathsArg,
    QuietOpt,
    SidecarStyleChoice,
    SidecarStyleOpt,
    WriteLocationOpt,
)
from photolm.cli.output import (
    bar_wanted,
    err,
    note,
    out,
    print_json,
    progress_bar,
    reporting,
    warn,
    warn_not_catalogued,
)
from photolm.errors import TaggingInterrupted
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.tagging import Action, TagEvent, TagSummary


def tag(
    paths: PathsArg = None,
    catalog: CatalogOpt = None,
    embed: EmbedOpt = False,
    sidecar_style: SidecarStyleOpt = SidecarStyleChoice.darktable,
    write_location: WriteLocationOpt = False,
    dry_run: DryRunOpt = False,
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", min=0.0, max=1.0, show_default=False,
                     help="Also skip recognised photos scoring below this (stricter than the "
                     "model's threshold). Photos you confirmed are tagged regardless."),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the landmarks from the catalogue into your photos' metadata.

    So digiKam, Lightroom, darktable, Immich and your file browser can find them too. Only
    photos whose landmark passed the model's threshold (after GPS evidence), or that you
    confirmed with **photolm confirm**, are tagged. Each write is verified before it
    replaces anything, and **photolm untag** removes exactly what photolm wrote.
    Exit status: 0 when every photo was tagged, 1 when some could not be or a path
    given matches no catalogued photo, 130 when Ctrl-C stopped it, 143 for SIGTERM, 129 for
    SIGHUP (the photos written so far keep their tags; **photolm untag** removes them).
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.tagging import TagSettings, TagSummary, select_photos, tag_photos

        settings = TagSettings(mode="embed" if embed else "sidecar",
                               sidecar_style=sidecar_style.value,
                               write_location=write_location, dry_run=dry_run,
                               min_score=min_score)
        with Catalog.open(resolve_catalog_path(catalog), write=not dry_run,
                          create=False) as cat:
            selection = select_photos(cat, paths or ())
            summary = TagSummary("tag", dry_run=dry_run, unmatched=selection.unmatched)
            try:
                # closed here, while the catalogue is open: the writes done so far are
                # recorded (for untag) whether Ctrl-C lands in the writing or the showing
                with contextlib.closing(tag_photos(cat, selection.rows, settings)) as events:
                    render_tag_events(events, summary, json_out=json_out, quiet=quiet,
                                      embed=embed)
            except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
                raise TaggingInterrupted(interrupted_line(summary, exc), exc) from None
        finish(summary, json_out=json_out, quiet=quiet)


def interrupted_line(summary: TagSummary, stop: BaseException) -> str:
    """What the stop (Ctrl-C, SIGTERM, SIGHUP) left: how many photos were written (kept, and
    untag takes them back) or, for untag, had their tags removed (another untag finishes
    the rest), and how many were not reached; each write replaces a file whole or not at
    all, and one in hand when the stop came is finished first (:mod:`photolm.ctrl_c`)."""
    from photolm.ctrl_c import Stopped, interrupted, named

    if summary.dry_run:
        return f"{interrupted(stop)}; dry run, nothing changed."
    changed = summary.counts.get("written", 0) + summary.counts.get("removed", 0)
    left = max(summary.planned - len(summary.results), 0)
    if summary.action == "untag":
        did = "had its tags removed" if changed == 1 else "had their tags removed"
        after = "`photolm untag` again finishes the rest"
    else:
        did = "was written" if changed == 1 else "were written"
        after = "kept; `photolm untag` takes them back"
    finished = ""
    if isinstance(stop, Stopped) and stop.finished_first:
        finished = f" (the one in hand when {named(stop)} came was finished first)"
    return (f"{interrupted(stop)} after {counted(changed, 'photo')} of {summary.planned} {did} "
            f"({after}); {left} not reached {'is' if left == 1 else 'are'} untouched, and no "
            f"photo is half-written{finished}.")


def render_tag_events(events: Iterable[TagEvent], summary: TagSummary, *, json_out: bool,
                      quiet: bool, embed: bool = False) -> TagSummary:
    """Feed ``events`` into ``summary`` while showing progress and one line per problem."""
    from photolm.tagging import TagResult, TagStarted

    for path in summary.unmatched:
        warn_not_catalogued(path)
    verb = "untagging" if summary.action == "untag" else "tagging"
    with progress_bar(verb, show=bar_wanted(quiet=quiet, json_out=json_out)) as bar:
        for event in events:
            summary.add(event)
            if isinstance(event, TagStarted):
                bar.start(event.total)
            if not isinstance(event, TagResult):
                continue
            shows_plan = summary.dry_run and not json_out and event.status not in _NOTHING_TO_DO
            if event.failed:
                warn(event.path, event.error or event.message)
            elif not shows_plan:  # a plan lists its fallback and notes already
                for text in event.told(dry_run=summary.dry_run):
                    note(event.path, text)
            if shows_plan:
                for line in event.lines:
                    out.print(line, markup=False, highlight=False, emoji=False)
            bar.advance()
    raw = sum(1 if r.raw else len(r.companions) for r in summary.results)
    if raw and embed and not json_out and not quiet:
        err.print(f"note: {counted(raw, 'camera RAW file')} tagged in XMP sidecars: photolm never "
                  "writes into RAW files", markup=False, highlight=False, emoji=False)
    return summary


# A dry run lists what would change; photos it would leave as they are only count in the
# closing line ("3 had no photolm tags"), or untag --dry-run of a library tagged in one
# folder prints a line for every other photo.
_NOTHING_TO_DO = frozenset({"unchanged", "nothing-to-remove"})


def finish(summary: TagSummary, *, json_out: bool, quiet: bool) -> None:
    """Print the JSON or the closing line; exit 1 when some photo failed."""
    if json_out:
        print_json(summary.to_json())
    elif not quiet:
        err.print(closing_line(summary), markup=False, highlight=False, emoji=False)
    raise typer.Exit(0 if summary.ok else 1)


_DONE: dict[Action, tuple[tuple[str, str], ...]] = {
    "tag": (("written", "written"), ("unchanged", "already tagged"),
            ("would-write", "would be written"), ("removed", "had photolm's tags removed"),
            ("would-remove", "would have photolm's tags removed")),
    "untag": (("removed", "removed"), ("would-remove", "would be removed"),
              ("nothing-to-remove", "had no photolm tags")),
}


def closing_line(summary: TagSummary) -> str:
    """``tag: 3 written, 1 already tagged; 1 failed; 4 skipped (3 no landmark ...)``."""
    parts = [f"{summary.counts[status]} {label}" for status, label in _DONE[summary.action]
             if summary.counts.get(status)]
    if summary.action == "tag" and summary.counts.get("nothing-to-remove"):
        parts.append(f"{summary.counts['nothing-to-remove']} had no photolm tags")
    failed = (f"{len(summary.failed)} {'would fail' if summary.dry_run else 'failed'}"
              if summary.failed else "")
    # "nothing to do" only when there was nothing: a run where every photo failed had work
    text = "; ".join(p for p in (", ".join(parts), failed) if p) or "nothing to do"
    if summary.skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items()))
        text += f"; {sum(summary.skipped.values())} skipped ({reasons})"
    if summary.noted:  # the note lines may have scrolled away with the progress
        text += f"; {counted(summary.noted, 'photo')} with notes"
    prefix = "dry run, nothing changed" if summary.dry_run else summary.action
    return f"{prefix}: {text}"
