# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm untag``: remove exactly what photolm wrote, and nothing a person or tool added."""

from __future__ import annotations

import contextlib

from photolm.cli.options import CatalogOpt, DryRunOpt, JsonOpt, PathsArg, QuietOpt
from photolm.cli.output import reporting
from photolm.cli.tag import finish, interrupted_line, render_tag_events
from photolm.errors import TaggingInterrupted


def untag(
    paths: PathsArg = None,
    catalog: CatalogOpt = None,
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Remove the tags photolm wrote, from the photos and from their sidecars.

    Only values photolm's own marker says it added go: keywords a person typed (even the
    same landmark name) and other tools' fields stay, and a sidecar photolm created is
    deleted once it is empty. Exit status: 0 when every photo was handled, 1 when some
    could not be or a path given matches no catalogued photo, 130 when Ctrl-C stopped it,
    143 for SIGTERM, 129 for SIGHUP (the photos done so far stay untagged; **photolm
    untag** again finishes the rest).
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.tagging import TagSummary, select_photos, untag_photos

        with Catalog.open(resolve_catalog_path(catalog), write=not dry_run,
                          create=False) as cat:
            selection = select_photos(cat, paths or ())
            summary = TagSummary("untag", dry_run=dry_run, unmatched=selection.unmatched)
            try:
                # closed here, while the catalogue is open: what was removed so far is
                # recorded whether Ctrl-C lands in the writing or the showing (as tag)
                with contextlib.closing(untag_photos(cat, selection.rows,
                                                     dry_run=dry_run)) as events:
                    render_tag_events(events, summary, json_out=json_out, quiet=quiet)
            except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
                raise TaggingInterrupted(interrupted_line(summary, exc), exc) from None
        finish(summary, json_out=json_out, quiet=quiet)
