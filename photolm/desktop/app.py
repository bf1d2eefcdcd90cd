# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop's pages and actions (Starlette), wrapped in :class:`~.security.Guard`.

Every page opens the catalogue read-only for the length of the request (cheap; WAL lets it
read while a scan writes); every action opens it for writing just long enough to store one
answer, with the same library call the CLI makes. Photos are addressed only by catalogue id.
Templates are autoescaped: file names and EXIF text are data, never markup.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from photolm.catalog import (
    UNCERTAIN_MARGIN,
    Catalog,
    CatalogReadOnlyError,
    PhotoRow,
    refuse_read_only,
)
from photolm.desktop import explain, places, queries
from photolm.desktop.jobs import (
    Job,
    JobBusyError,
    Jobs,
    merged_lines,
    rescan_roots,
    scan_work,
    tag_work,
    writing,
)
from photolm.desktop.security import CSRF_FIELD, Guard, csrf_token
from photolm.desktop.thumbs import LARGE, THUMB, ThumbnailCache
from photolm.discovery import paired_format
from photolm.errors import CatalogBusyError, NotKnownError, PhotolmError, UsageError
from photolm.printed_paths import printed
from photolm.wording import counted, decimals

if TYPE_CHECKING:
    from photolm.bundle import Bundle
    from photolm.catalog.upgraded_copy import UpgradedCopy
    from photolm.learning import LearnResult
    from photolm.prototypes import Adopted

HERE = Path(__file__).resolve().parent
LOCK_WAIT_S = 2.0  # an answer waits this long for a running scan's batch to be stored
MAX_PREVIEW_ROWS = 300
MAP_PAGE = 500  # photos of one map dot listed under the map at a time
MAX_REMEMBERED = 50_000
MAX_ID = 2**63 - 1  # SQLite's largest integer: a catalogue id, an offset
# A render is keyed by the photo's content: the same URL shows the same picture for a day.
CACHED = {"cache-control": "private, max-age=86400"}
# What a person typed that the page refuses and says why (a bad request, 400): a usage
# mistake, or a name or place that names nothing the catalogue knows.
REFUSED = (UsageError, NotKnownError)
# What keeps an answer or a place's name from being stored, said on the page it was asked
# from: a scan or tag run writing, or a catalogue photolm may read but not change (the CLI's
# own refusal).
NOT_STORED = (CatalogBusyError, CatalogReadOnlyError)


@dataclass
class Settings:
    """What one run of ``photolm serve`` serves."""

    catalog_path: Path
    token: str
    port: int
    host: str = "127.0.0.1"
    model: Path | None = None
    threshold: float | None = None  # the bundle's; None when no bundle could be read
    bundle_id: str | None = None
    cache_dir: Path | None = None
    uncertain_margin: float = UNCERTAIN_MARGIN


class Desktop:
    """The state one server holds: settings, thumbnail cache, jobs."""

    def __init__(self, settings: Settings) -> None:
        from photolm.desktop.thumbs import default_cache_dir
        from photolm.places_cache import PlacesCache

        self.settings = settings
        self.thumbs = ThumbnailCache(settings.cache_dir or default_cache_dir())
        # the Unnamed places page's groups, kept until the catalogue or bundle changes
        self.places_cache = PlacesCache()
        self.jobs = Jobs()
        self._bundle: Bundle | None = None
        # learned landmarks this server folded into the model's of the same name (a scan,
        # a place named): each one's landmark page says so while it runs, as the CLI's
        # note: line said it once
        self.merged: list[Adopted] = []
        # Photos the pages just listed, by id: a thumbnail request then needs no catalogue
        # connection of its own (a 1,000-photo page asks for hundreds at once).
        self._rows: dict[int, PhotoRow] = {}
        # an older catalogue that may not be written, read from an upgraded copy (as the
        # last page read it): every page says so, in the CLI's note: line's words
        self.copied: UpgradedCopy | None = None
        import jinja2

        # autoescape everything, whatever the template's name: file names and EXIF are data
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                 autoescape=True, undefined=jinja2.ChainableUndefined)
        self.templates = Jinja2Templates(env=env)
        self.templates.env.globals["csrf_field"] = CSRF_FIELD
        self.templates.env.filters["when"] = _when
        self.templates.env.filters["counted"] = counted  # {{ n|counted("photo") }}
        # the decimals that tell a score from the threshold: {{ score|decimals(threshold) }}
        self.templates.env.filters["decimals"] = decimals
        # a path as the CLI prints it: a newline or a bidirectional override in a file name
        # (U+202E shows "photo\u202egpj.exe" as "photoexe.jpg") is shown as an escape
        self.templates.env.filters["printed"] = printed
        self.templates.env.globals["answer_key"] = _answer_key
        # "JPEG" or "HEIC": what a RAW pair's photo is, by the rule pairing itself reads
        self.templates.env.filters["paired_format"] = paired_format

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def read(self) -> Iterator[Catalog]:
        with Catalog.open(self.settings.catalog_path, write=False) as cat:
            self.copied = cat.upgraded_copy
            yield cat

    @contextlib.contextmanager
    def write(self) -> Iterator[Catalog]:
        with writing(self.settings.catalog_path, lock_timeout=LOCK_WAIT_S,
                     quick_check=False) as cat:
            yield cat

    def writable(self) -> None:
        """Refuse an action on a catalogue photolm may not change here before its work
        starts (a scan's model loaded, a place's re-match computed, only to be refused)."""
        refuse_read_only(self.settings.catalog_path)

    def lock_free(self) -> None:
        """Refuse a scan or tag run while another photolm (a ``photolm scan`` in a
        terminal) holds the write lock, on the page it was asked from and in this page's
        words: started anyway, the job failed at once with the command line's advice to
        "use --catalog". Waits as an answer does (:data:`LOCK_WAIT_S`)."""
        with self.write():
            pass

    def page(self, request: Request, template: str, status: int = 200,
             **context: Any) -> Response:
        context.setdefault("threshold", self.settings.threshold)
        context.setdefault("job", self.jobs.current)
        context.setdefault("copy_note", self.copied.notice() if self.copied else "")
        context.update(csrf=csrf_token(self.settings.token), query=context.get("query", ""))
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def remember(self, rows: Iterable[PhotoRow | None]) -> None:
        if len(self._rows) > MAX_REMEMBERED:
            self._rows.clear()
        self._rows.update((r.id, r) for r in rows if r is not None)

    def threshold_of(self, cat: Catalog, row: PhotoRow) -> float | None:
        """The threshold the photo's own bundle decided with (stored by the scan), else the
        served bundle's."""
        return cat.thresholds().get(row.bundle_id or "", self.settings.threshold)

    def photo_or_404(self, cat: Catalog, photo_id: int) -> PhotoRow:
        row = _photo_by_id(cat, photo_id)
        if row is None:
            raise _NotFound(f"No photo {photo_id} in the catalogue.")
        return row

    # ------------------------------------------------------------------ pages

    def landmarks(self, request: Request) -> Response:
        with self.read() as cat:
            summaries = queries.landmark_summaries(cat)
            stats = cat.stats()
        self.remember(s.cover for s in summaries)
        return self.page(request, "landmarks.html", summaries=summaries, stats=stats)

    def landmark(self, request: Request) -> Response:
        landmark_id = request.path_params["landmark_id"]
        order = "newest" if request.query_params.get("order") == "newest" else "score"
        with self.read() as cat:
            photos = queries.landmark_photos(cat, landmark_id, order)
            record = next((lm for lm in cat.landmarks() if lm.id == landmark_id), None)
        if not photos and record is None:
            raise _NotFound(f"No landmark {landmark_id!r} in the catalogue.")
        name = record.name if record else photos[0].effective_landmark_name
        self.remember(photos)
        merged = merged_lines([m for m in self.merged if m.landmark.id == landmark_id])
        return self.page(request, "landmark.html", landmark_id=landmark_id, name=name,
                         place=queries.place_of(record), photos=photos, order=order,
                         merged=merged)

    def search(self, request: Request) -> Response:
        from photolm.names import LandmarkIndex

        query = request.query_params.get("q", "").strip()
        if not query:
            return RedirectResponse("/", status_code=303)
        with self.read() as cat:
            index = LandmarkIndex(cat.landmarks())
            hits = index.search(query)
            suggestions = [] if hits else index.suggest(query)
            unknown = "" if hits else index.unknown(query)  # the CLI's own sentence
            counts = cat.landmark_counts(include_missing=False)
            results = []
            for hit in hits:
                photos = cat.photos([hit.landmark_id], include_missing=False, limit=24)
                results.append({"hit": hit, "count": counts.get(hit.landmark_id, 0),
                                "photos": photos})
                self.remember(photos)
        return self.page(request, "search.html", query=query, results=results,
                         suggestions=suggestions, unknown=unknown)

    def photo(self, request: Request) -> Response:
        photo_id = int(request.path_params["photo_id"])
        with self.read() as cat:
            row = self.photo_or_404(cat, photo_id)
            records = {lm.id: lm for lm in cat.landmarks()}
            names = sorted({lm.name for lm in records.values()}, key=str.casefold)
            threshold = self.threshold_of(cat, row)
            said = _still_said(cat, request)
        shown = row.effective_landmark_id
        return self.page(
            request, "photo.html", row=row, why=explain.why(row, threshold), threshold=threshold,
            place=queries.place_of(records.get(shown or "")), names=names,
            candidates=row.topk, next=_safe_next(request.query_params.get("next")),
            message=said, problem=request.query_params.get("e", ""),
            typed=request.query_params.get("v", ""),
            on_disk=_on_disk(row),  # a placeholder's why, or a picture the verdict is not of
        )

    def uncertain(self, request: Request) -> Response:
        with self.read() as cat:
            rows = cat.uncertain(self.settings.uncertain_margin)
            unweighed = cat.without_threshold()  # an older photolm kept no threshold
            records = {lm.id: lm for lm in cat.landmarks()}
            index = max(0, min(_int(request.query_params.get("i"), 0), len(rows) - 1))
            shown = _int(request.query_params.get("photo"), 0)  # an answer undone: show it
            index = next((i for i, r in enumerate(rows) if r.id == shown), index)
            threshold = self.threshold_of(cat, rows[index]) if rows else None
            said = _still_said(cat, request)
            answered = _int(request.query_params.get("a"), 0) if said else 0
            undo = _photo_by_id(cat, answered)
        names = sorted({lm.name for lm in records.values()}, key=str.casefold)
        row = rows[index] if rows else None
        place = queries.place_of(records.get(row.effective_landmark_id or "")) if row else ""
        return self.page(
            request, "uncertain.html", rows=rows, index=index, row=row, total=len(rows),
            unweighed=unweighed,
            place=place,
            candidates=row.topk if row else [], why=explain.why(row, threshold) if row else [],
            names=names, margin=self.settings.uncertain_margin, threshold=threshold,
            said=said, problem=request.query_params.get("e", ""),
            typed=request.query_params.get("v", ""),
            on_disk=_on_disk(row) if row else "",
            undo=undo if undo is not None and undo.review else None,
        )

    def tags(self, request: Request) -> Response:
        shown = self.job_as_drawn()
        with self.read() as cat:
            stats = cat.stats()
            summaries = queries.landmark_summaries(cat)
        last = {k: self.jobs.last.get(k) for k in ("preview", "tag", "untag")}
        # the form shows what the latest tag run was for: a preview of one landmark followed
        # by "Write tags" must write that landmark, not every photo (the form used to fall
        # back to "all photos" when the page was fetched again after the preview)
        latest = max((j for j in last.values() if j is not None), key=lambda j: j.started,
                     default=None)
        chosen = latest.params if latest else {}
        # a plan is shown while it is the latest run: after a write it would be stale
        preview = latest if latest is not None and latest.kind == "preview" else None
        planned = (preview.result or {}).get("photos", []) if preview else []
        return self.page(request, "tags.html", job=shown, stats=stats, summaries=summaries,
                         last=last,
                         preview_rows=planned[:MAX_PREVIEW_ROWS], planned=len(planned),
                         chosen_landmark=chosen.get("landmark", ""),
                         chosen_mode=chosen.get("mode", "sidecar"),
                         problem=request.query_params.get("e", ""))

    def job_as_drawn(self) -> Job | None:
        """The current job as a page that shows its outcome draws it, copied before that
        outcome is read. A job that ended in between was drawn "done" beside the outcome
        from before (a preview without its plan, a scan's page with the last scan before
        it; a job sets its result before its state), and a finished job's panel no longer
        polls, so the page stayed so until a reload."""
        current = self.jobs.current
        return dataclasses.replace(current) if current is not None else None

    def scan(self, request: Request) -> Response:
        shown = self.job_as_drawn()
        with self.read() as cat:
            roots, gone = rescan_roots(cat.scan_roots())
            last_scan = cat.last_scan()
        return self.page(request, "scan.html", job=shown, roots=roots, gone=gone,
                         last_scan=last_scan,
                         last=self.jobs.last.get("scan"), problem=request.query_params.get("e", ""))

    def unreadable(self, request: Request) -> Response:
        """The photos scans could not read and why, as ``photolm list --errors``: read
        only; each opens its photo page, which says the same."""
        with self.read() as cat:
            rows = cat.unreadable()
        return self.page(request, "unreadable.html", rows=rows)

    def job(self, request: Request) -> Response:
        return self.page(request, "job_fragment.html")

    def bundle(self) -> Bundle:
        """The served bundle, read once (``BundleError`` when there is none)."""
        if self._bundle is None:
            from photolm.bundle import load_bundle

            self._bundle = load_bundle(self.settings.model)
        return self._bundle

    def places(self, request: Request) -> Response:
        bundle = self.bundle()
        everything = request.query_params.get("all") == "1"
        with self.read() as cat:
            strips, hidden = places.strips(cat, bundle, everything=everything,
                                           cache=self.places_cache)
            for strip in strips:
                self.remember(strip.photos)
            names = sorted({lm.name for lm in cat.landmarks()}, key=str.casefold)
            # "no groups" would be wrong: the photos were read with another network
            unread = not strips and cat.embedded_by_another(bundle.model_id)
        return self.page(request, "places.html", strips=strips, names=names, hidden=hidden,
                         unread=unread,
                         everything=everything, message=request.query_params.get("m", ""),
                         merged=request.query_params.getlist("n"),
                         problem=request.query_params.get("e", ""),
                         typed_for=request.query_params.get("g", ""),
                         typed=request.query_params.get("v", ""))

    def world(self, request: Request) -> Response:
        from photolm.desktop import worldmap

        at = request.query_params.get("at", "")
        where = worldmap.parse_at(at) if at else None
        if at and where is None:
            raise UsageError(f"No place {at!r} on the map: a dot's address is /map?at=LAT,LON.")
        start = max(0, _int(request.query_params.get("from"), 0))
        with self.read() as cat:
            points = worldmap.photo_points(cat)
            near = cat.photos_near(*where, limit=MAP_PAGE, offset=start) if where else []
        # a dot stands for all its photos: the heading counts them as the dot does, the grid
        # shows them a page at a time
        total = worldmap.count_at(points, where) if where else 0
        self.remember(near)
        return self.page(request, "map.html", outline=worldmap.outline_path(),
                         points=points, width=worldmap.WIDTH, height=worldmap.HEIGHT,
                         at=at if where else "", where=where, photos=near, total=total,
                         start=start, page_size=MAP_PAGE)

    # ------------------------------------------------------------------ images

    async def thumbnail(self, request: Request) -> Response:
        return await self._image(request, THUMB)

    async def large(self, request: Request) -> Response:
        return await self._image(request, LARGE)

    async def _image(self, request: Request, size: int) -> Response:
        from starlette.concurrency import run_in_threadpool

        photo_id = int(request.path_params["photo_id"])
        row = self._rows.get(photo_id) or await run_in_threadpool(self._row, photo_id)
        try:
            path = self.thumbs.cached(row, size) or await self.thumbs.get(row, size)
            if size == THUMB:  # ~15 KB: one read here beats FileResponse's thread hops
                return Response(path.read_bytes(), media_type="image/jpeg", headers=CACHED)
        except (PhotolmError, OSError, ValueError):
            return FileResponse(HERE / "static" / "unreadable.svg", media_type="image/svg+xml")
        return FileResponse(path, media_type="image/jpeg", headers=CACHED)

    def _row(self, photo_id: int) -> PhotoRow:
        with self.read() as cat:
            return self.photo_or_404(cat, photo_id)

    # ------------------------------------------------------------------ actions

    async def review(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        photo_id = int(request.path_params["photo_id"])
        action = str(form.get("action", ""))
        name = str(form.get("landmark", "")).strip()
        nxt = _safe_next(str(form.get("next", ""))) or f"/photo/{photo_id}"
        seen = form.get("seen")
        stored = ""
        try:
            message, stored = await run_in_threadpool(self._review, photo_id, action, name,
                                                      None if seen is None else str(seen))
            key = "m"
        except _Answered as exc:  # it may have left the uncertain list: show the photo
            back = f"?next={_quote(nxt)}" if nxt != f"/photo/{photo_id}" else ""
            nxt, message, key = f"/photo/{photo_id}{back}", str(exc), "e"
        except (*REFUSED, *NOT_STORED) as exc:  # a mistyped name, a scan writing, a
            message, key = str(exc), "e"  # read-only catalogue: say so where it was pressed
        sep = "&" if "?" in nxt else "?"
        # a name refused goes back into its field, to be mended rather than typed again
        kept = f"&v={_quote(name)}" if key == "e" and action == "correct" and name else ""
        # the uncertain page shows the next photo at once: it names the one just answered
        # (a=), so a key pressed by mistake can be undone there
        undo = (f"&a={photo_id}" if key == "m" and action != "clear"
                and nxt.startswith("/uncertain") else "")
        # the answer the line is about, so that the line is not shown once it is no longer
        # true (the back button to this address after another answer was given)
        told = f"&k={_quote(f'{photo_id}:{stored}')}" if key == "m" else ""
        return RedirectResponse(f"{nxt}{sep}{key}={_quote(message)}{undo}{told}{kept}",
                                status_code=303)

    def _review(self, photo_id: int, action: str, name: str,
                seen: str | None = None) -> tuple[str, str]:
        """Store a person's answer through :mod:`photolm.review`; returns what it stored,
        in words and as :func:`_answer_key` says it.

        ``seen`` is the photo's answer as the page showed it: a page left open in another
        tab must not silently overwrite an answer given since."""
        from photolm.review import resolve_landmark, review_for

        if action not in ("confirm", "correct", "none", "clear", "top"):
            raise UsageError(f"Unknown answer {action!r}.")
        with self.write() as cat:
            row = self.photo_or_404(cat, photo_id)
            chosen = None
            if action == "correct":
                if not name:
                    raise UsageError("Type the landmark it shows, then press Correct.")
                chosen = resolve_landmark(cat, name)
            elif action == "top":  # "yes, it is the best candidate" (uncertain review)
                top = row.topk[0]["landmark_id"] if row.topk else None
                chosen = next((lm for lm in cat.landmarks() if lm.id == top), None)
                if chosen is None:
                    raise UsageError("This photo has no candidate to confirm.")
            review = review_for(row, chosen, no_landmark=action == "none",
                                clear=action == "clear")
            if review is None:
                raise UsageError("No landmark recognised to confirm: correct it to a "
                                 "landmark, or say it shows none.")
            stored = (row.review, row.review_landmark_id)
            if (seen is not None and seen != _answer_key(row)
                    and (review.verdict, review.landmark_id) != stored):
                # the same answer twice (a key pressed twice) is no conflict
                now = {"none": "no landmark", None: "no answer"}.get(
                    row.review, row.review_landmark_name)
                raise _Answered(
                    f"Not saved: this photo was answered meanwhile (in another tab?); "
                    f"your answer now is: {now}. Answer again here if you still mean it.")
            cat.set_reviews([review])
            now = self.photo_or_404(cat, photo_id)
        return (_said(printed(Path(row.path).name), review.verdict, review.landmark_name),
                _answer_key(now))

    async def start_tags(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        action = request.path_params["action"]
        if action not in ("preview", "tag", "untag"):
            raise _NotFound(f"No tag action {action!r}.")
        landmark_id = str(form.get("landmark") or "") or None
        embed = form.get("mode") == "embed"
        titles = {"preview": "Tag preview", "tag": "Writing tags", "untag": "Removing tags"}
        try:
            if action != "preview":  # a preview only reads
                self.jobs.refuse_second()  # said before the lock is waited for
                await run_in_threadpool(self.writable)
                await run_in_threadpool(self.lock_free)
            self.jobs.start(action, titles[action], tag_work(
                self.settings.catalog_path, action, embed=embed, landmark_id=landmark_id),
                params={"landmark": landmark_id or "", "mode": "embed" if embed else "sidecar"})
        except (JobBusyError, *NOT_STORED) as exc:
            return _refused("/tags", exc)
        return RedirectResponse("/tags", status_code=303)

    async def start_scan(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        def roots() -> tuple[list[str], list[str]]:  # a stat per folder: never on the loop
            self.writable()
            self.lock_free()
            with self.read() as cat:
                return rescan_roots(cat.scan_roots())

        try:
            self.jobs.refuse_second()  # said before the lock is waited for
            known, gone = await run_in_threadpool(roots)
            if not known:
                raise UsageError("None of the folders scanned before is there now: "
                                 + ", ".join(map(printed, gone)) if gone else
                                 "No folders scanned yet: run `photolm scan FOLDER` once first.")
            self.jobs.start("scan", "Scan", scan_work(self.settings.catalog_path,
                                                      self.settings.model, known,
                                                      on_merged=self.merged.extend))
        except (UsageError, JobBusyError, *NOT_STORED) as exc:
            return _refused("/scan", exc)
        return RedirectResponse("/scan", status_code=303)

    async def stop_job(self, request: Request) -> Response:
        form = await request.form()
        self.jobs.stop()
        return RedirectResponse(_safe_next(str(form.get("next", ""))) or "/scan",
                                status_code=303)

    async def name_place(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        merged: list[Adopted] = []
        group_id, name = str(request.path_params["group_id"]), str(form.get("name", ""))
        try:
            await run_in_threadpool(self.writable)
            merged = await run_in_threadpool(self._fold_learned)
            result = await run_in_threadpool(self._name_place, group_id, name,
                                             form.get("new") == "1")
        except (*REFUSED, *NOT_STORED) as exc:  # no name, a group named meanwhile
            # (another tab), a scan writing, a read-only catalogue; what was folded before is
            # said all the same
            told = "".join(f"&n={_quote(line)}" for line in merged_lines(merged))
            # the name refused goes back into its group's field, to be mended
            kept = f"&g={_quote(group_id)}&v={_quote(name)}" if name.strip() else ""
            return RedirectResponse(f"/places?e={_quote(str(exc))}{told}{kept}",
                                    status_code=303)
        show = f"{counted(result.photos, 'photo', 'shows')} it now."
        said = (f"Learned {result.landmark.name}: {show}" if result.new else
                f"Added {counted(result.added, 'example photo')} to {result.landmark.name}: {show}")
        told = "".join(f"&n={_quote(line)}" for line in merged_lines(merged))
        return RedirectResponse(f"/places?m={_quote(said)}{told}", status_code=303)

    def _fold_learned(self) -> list[Adopted]:
        """Learned landmarks the served model ships by name become the model's, as
        ``photolm places name`` does first: a place named "Old Bridge" then adds to that one
        landmark, and the page says what became of the learned one. Nothing to fold (the
        usual case) is one read; the write lock is held only to fold."""
        from photolm.prototypes import adopt_shipped, shipped_namesakes

        bundle = self.bundle()
        with self.read() as cat:
            if not shipped_namesakes(bundle, cat.learned()):
                return []
        with self.write() as cat:
            merged = adopt_shipped(cat, bundle)
        self.merged.extend(merged)
        return merged

    def _name_place(self, place_id: str, name: str, new: bool = False) -> LearnResult:
        """Compute the naming (the re-match takes seconds on a large library) from a read
        connection, then hold the write lock only to store it in one transaction. Should
        another writer (a scan) have stored anything meanwhile, it is computed again under
        the lock, so nothing it stored is overwritten by a verdict made before it."""
        from photolm.learning import apply_learn

        bundle = self.bundle()
        with self.read() as reader:
            seen = reader.data_version()
            plan = places.plan_naming(reader, bundle, place_id, name, new=new,
                                      cache=self.places_cache)
            with self.write() as cat:
                if reader.data_version() != seen:
                    plan = places.plan_naming(cat, bundle, place_id, name, new=new,
                                              cache=self.places_cache)
                return apply_learn(cat, plan)

    # ------------------------------------------------------------------ errors

    async def error(self, request: Request, exc: Exception) -> Response:
        status = 404 if isinstance(exc, _NotFound) else 409 if isinstance(
            exc, (CatalogBusyError, JobBusyError)) else 400 if isinstance(exc, REFUSED) else 500
        return self.page(request, "error.html", status=status, message=str(exc))

    async def bug(self, request: Request, exc: Exception) -> Response:
        """An error no page expects (a bug): the same page with the way back and one line,
        never a bare "Internal Server Error"; the traceback goes to the terminal, as
        uvicorn logs it."""
        return self.page(request, "error.html", status=500, message=(
            f"Something went wrong in photolm (a bug, not your photos): "
            f"{type(exc).__name__}: {exc}. The terminal running photolm serve shows the "
            "details."))

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own refusals (no such route, wrong method) as the same page as ours,
        with the way back, instead of a bare ``Not Found`` in monospace."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = ("Nothing at this address: it may be mistyped, or from an older version."
                   if status == 404 else f"This address does not take that request ({status}).")
        return self.page(request, "error.html", status=status, message=message)


class _NotFound(PhotolmError):
    """A page or photo that is not there."""


class _Answered(UsageError):
    """The photo's answer changed since the page that sent this one was shown."""


def _on_disk(row: PhotoRow) -> str:
    """How the photo's file differs from what its last scan saw: ``"gone"`` (moved or
    deleted: the page shows the "cannot be read" picture), ``"changed"`` (another picture
    under the same name: the page shows it beside a verdict about the old one) or ``""``.
    A touched file with the same content is not changed (its fingerprint says so)."""
    from photolm.desktop.thumbs import fingerprint_of

    if row.missing:
        return ""  # the page says "missing since the last scan" already
    try:
        st = os.stat(row.path)
    except OSError:
        return "gone"
    if (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns) or not row.content_hash:
        return ""
    return "changed" if fingerprint_of(row) not in (None, row.content_hash) else ""


def _still_said(cat: Catalog, request: Request) -> str:
    """The line an answer's redirect carries (``m=``), or ``""`` when the answer it is about
    (``k=``: the photo's id and :func:`_answer_key`) has changed since: the back button
    returned to "Saved: IMG_0001.JPG shows Colosseum." after the photo was said to show no
    landmark, with an Undo that would have forgotten that newer answer."""
    said = request.query_params.get("m", "")
    told = request.query_params.get("k")
    if not said or told is None:
        return said
    photo_id, _, key = told.partition(":")
    row = _photo_by_id(cat, _int(photo_id, 0))
    return said if row is not None and _answer_key(row) == key else ""


def _photo_by_id(cat: Catalog, photo_id: int) -> PhotoRow | None:
    """The photo ``photo_id`` from an address, ``None`` for 0 (none given) or an id past
    SQLite's integers (a mistyped address names no photo: not a 500)."""
    return cat.photo_by_id(photo_id) if 0 < photo_id <= MAX_ID else None


def _answer_key(row: PhotoRow) -> str:
    """A photo's answer as one string, sent back by its page's forms (hidden ``seen``)."""
    return f"{row.review or ''}:{row.review_landmark_id or ''}"


def _said(name: str, verdict: str | None, landmark: str | None) -> str:
    """What an answer stored, in words: on the uncertain page the next photo replaces the
    answered one, so without this line nothing says the key press took effect."""
    if verdict is None:
        return f"Forgot your answer for {name}: the model's verdict counts again."
    if verdict == "none":
        return f"Saved: {name} shows no landmark."
    return f"Saved: {name} shows {landmark}."


def _when(taken: str | None) -> str:
    """``2021-03-11 11:22`` from the catalogue's ISO 8601 ``2021-03-11T11:22:00+02:00``."""
    if not taken:
        return ""
    return taken[:16].replace("T", " ")


def _int(text: str | None, default: int) -> int:
    """A number from the address, ``default`` when it is none or past SQLite's integers."""
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    return value if -MAX_ID <= value <= MAX_ID else default


def _safe_next(target: str | None) -> str:
    """A same-site path to go back to, or ``""``: never another host (open redirects)."""
    if not target:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    path = parts.path
    if (parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//")
            or "\\" in target):
        return ""
    query = "&".join(p for p in parts.query.split("&")
                     if p and not p.startswith(("m=", "e=", "a=", "k=", "v=")))
    return path + (f"?{query}" if query else "")


def _refused(page: str, exc: Exception) -> Response:
    """An action that could not be done, said on the page it was asked from: after a
    redirect (POST, then GET), so reloading that page never sends the action again (an
    error page answering the POST itself made the browser offer to resubmit it)."""
    return RedirectResponse(f"{page}?e={_quote(str(exc))}", status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def create_app(settings: Settings) -> Any:
    """The ASGI application: routes behind the security guard."""
    desktop = Desktop(settings)
    routes = [
        Route("/", desktop.landmarks),
        Route("/landmark/{landmark_id:str}", desktop.landmark),
        Route("/search", desktop.search),
        Route("/photo/{photo_id:int}", desktop.photo),
        Route("/photo/{photo_id:int}/image", desktop.large),
        Route("/thumb/{photo_id:int}", desktop.thumbnail),
        Route("/photo/{photo_id:int}/review", desktop.review, methods=["POST"]),
        Route("/uncertain", desktop.uncertain),
        Route("/tags", desktop.tags),
        Route("/tags/{action:str}", desktop.start_tags, methods=["POST"]),
        Route("/scan", desktop.scan),
        Route("/scan/start", desktop.start_scan, methods=["POST"]),
        Route("/unreadable", desktop.unreadable),
        Route("/job", desktop.job),
        Route("/job/stop", desktop.stop_job, methods=["POST"]),
        Route("/places", desktop.places),
        Route("/places/{group_id:str}/name", desktop.name_place, methods=["POST"]),
        Route("/map", desktop.world),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        PhotolmError: desktop.error, HTTPException: desktop.http_error,
        Exception: desktop.bug})
    app.state.desktop = desktop
    guarded = Guard(app, token=settings.token, bind_host=settings.host, port=settings.port)
    guarded.desktop = desktop  # type: ignore[attr-defined]
    return guarded
