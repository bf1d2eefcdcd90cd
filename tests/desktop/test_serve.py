# SPDX-License-Identifier: GPL-3.0-or-later
"""`photolm serve` itself, a real server's concurrency, and the background jobs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from photolm.catalog import Catalog
from photolm.desktop.security import csrf_token
from tests.clirun import cli
from tests.desktop.conftest import TOKEN, make_photos, slow_jobs
from tests.tinybundle import COLOURS, write_photo


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Run the command up to the point where it would block in uvicorn."""
    calls: list[object] = []
    monkeypatch.setattr("photolm.desktop.server.serve",
                        lambda prepared, on_ready=None: calls.append(prepared))
    return calls


def test_serve_prints_a_tokened_loopback_url(library, no_serving) -> None:
    code, out, err = cli("serve", "--no-browser", "--port", "0", "--catalog", library.catalog,
                         "--model", library.bundle)
    assert code == 0, err
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{40,}\n", out)
    assert "WARNING" not in err and len(no_serving) == 1
    no_serving[0].sock.close()


def test_serve_on_all_interfaces_warns_loudly_and_keeps_the_token(library, no_serving) -> None:
    code, out, err = cli("serve", "--no-browser", "--host", "0.0.0.0", "--port", "0",
                         "--catalog", library.catalog, "--model", library.bundle)
    assert code == 0
    assert "WARNING" in err and "anyone on your network" in err
    assert "?token=" in out
    prepared = no_serving[0]
    assert prepared.settings.host == "0.0.0.0"
    prepared.sock.close()


def test_serve_without_a_catalogue_is_one_error_line(tmp_path: Path, tiny_bundle_dir) -> None:
    code, _, err = cli("serve", "--no-browser", "--catalog", tmp_path / "none.sqlite",
                       "--model", tiny_bundle_dir)
    assert code == 1 and err.startswith("Error: No catalogue at") and err.count("\n") == 1


def test_serve_without_the_extra_says_how_to_install_it(library, monkeypatch) -> None:
    monkeypatch.setattr("photolm.cli.serve.DESKTOP_MODULES", ("starlette", "no_such_module"))
    code, _, err = cli("serve", "--no-browser", "--catalog", library.catalog)
    assert code == 1 and "pip install 'photolm[desktop]'" in err and "no_such_module" in err


def test_a_busy_port_is_one_error_line(library, live) -> None:
    port = live.base.rsplit(":", 1)[1]
    code, _, err = cli("serve", "--no-browser", "--port", port, "--catalog", library.catalog,
                       "--model", library.bundle)
    assert code == 2 and f"Cannot listen on 127.0.0.1:{port}" in err


def test_an_uncached_thumbnail_does_not_block_other_pages(live, monkeypatch) -> None:
    import photolm.desktop.thumbs as thumbs

    real = thumbs.render

    def slow(*args: object) -> Path:
        time.sleep(2.0)
        return real(*args)

    monkeypatch.setattr(thumbs, "render", slow)
    with httpx.Client(base_url=live.base, cookies={
            f"photolm-token-{live.base.rsplit(':', 1)[1]}": TOKEN}) as client:
        started = threading.Event()
        results: dict[str, float] = {}

        def fetch_thumbs() -> None:
            started.set()
            t0 = time.monotonic()
            for photo in (1, 2):
                assert client.get(f"/thumb/{photo}", timeout=20).status_code == 200
            results["thumbs"] = time.monotonic() - t0

        worker = threading.Thread(target=fetch_thumbs)
        worker.start()
        started.wait()
        time.sleep(0.2)
        t0 = time.monotonic()
        assert client.get("/", timeout=20).status_code == 200
        assert client.get("/photo/3", timeout=20).status_code == 200
        results["pages"] = time.monotonic() - t0
        worker.join()
    assert results["thumbs"] >= 2.0  # the thumbnails really were slow...
    assert results["pages"] < 1.0, results  # ...and the pages did not wait for them


def _login(client: httpx.Client, live) -> None:
    assert client.get(live.url).status_code == 200  # follows the redirect, keeps the cookie


def test_scan_runs_in_the_background_and_updates_the_catalogue(library, tmp_path, live) -> None:
    newcomer = write_photo(library.photos / "paris" / "new-arrival.jpg",
                           COLOURS["eiffel-tower"])
    try:
        with httpx.Client(base_url=live.base, follow_redirects=True) as client:
            _login(client, live)
            page = client.post("/scan/start", data={"csrf": csrf_token(TOKEN)})
            assert page.status_code == 200 and "Scan" in page.text
            job = live.desktop.jobs.wait(60)
            assert job is not None and job.state == "done", (job.state, job.message)
            assert "1 recognised now" in job.message
            done = client.get("/scan").text
            assert "done" in done and "1 recognised now" in done
        with Catalog.open(library.catalog, write=False) as cat:
            row = cat.get_photo(newcomer)
        assert row is not None and row.landmark_id == "eiffel-tower"
    finally:
        newcomer.unlink()


def test_a_rescan_counts_only_the_photos_it_recognises(tmp_path: Path, tiny_bundle_dir) -> None:
    """A photo that failed before and has not changed is not work to do: the job must not
    count it ("3 of 0"), as the CLI's bar does not."""
    from photolm.desktop.jobs import Job, scan_work

    photos, catalog = tmp_path / "photos", tmp_path / "catalog.sqlite"
    write_photo(photos / "eiffel.jpg", COLOURS["eiffel-tower"])
    (photos / "empty.jpg").write_bytes(b"")
    assert cli("scan", photos, "--catalog", catalog, "--model", tiny_bundle_dir,
               "--quiet")[0] == 1
    write_photo(photos / "colosseum.jpg", COLOURS["colosseum"])
    job = Job("scan", "Scan")
    scan_work(catalog, tiny_bundle_dir, [str(photos)])(job)
    assert job.state == "done", job.message
    assert (job.done, job.total) == (1, 1)
    # nothing left to do: the line does not read as a library without landmarks
    again = Job("scan", "Scan")
    scan_work(catalog, tiny_bundle_dir, [str(photos)])(again)
    assert again.message == ("3 photos: 0 recognised now (0 with a landmark), 2 unchanged, "
                             "1 known unreadable, 0 errors. In these folders: 2 of 3 photos "
                             "show a landmark.")


@pytest.fixture
def own_photos(tmp_path: Path, tiny_bundle_dir) -> tuple[Path, Path]:
    """A library of this test's own (tag writing leaves sidecars beside the photos)."""
    photos = tmp_path / "mine"
    make_photos(photos)
    catalog = tmp_path / "catalog.sqlite"
    assert cli("scan", photos, "--catalog", catalog, "--model", tiny_bundle_dir,
               "--quiet")[0] == 0
    return photos, catalog


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool reads the tags back")
def test_tags_preview_then_write_then_remove(own_photos, tmp_path, tiny_bundle_dir) -> None:
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import BASE, Library, make_settings

    photos, catalog = own_photos
    app = create_app(make_settings(Library(photos, catalog, tiny_bundle_dir), tmp_path))
    csrf = {"csrf": csrf_token(TOKEN)}
    sidecar = photos / "rome" / "colosseum-0.jpg.xmp"
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        client.post("/tags/preview", data={**csrf, "landmark": "colosseum"})
        assert app.desktop.jobs.wait(30).state == "done"
        page = client.get("/tags").text
        assert "would-write" in page and "colosseum-0.jpg" in page and "Colosseum" in page
        assert not sidecar.exists()  # a preview writes nothing
        client.post("/tags/tag", data={**csrf, "landmark": "colosseum"})
        job = app.desktop.jobs.wait(30)
        assert job.state == "done" and job.message.startswith("tag: 2 written"), job.message
        read = subprocess.run(["exiftool", "-s3", "-XMP-dc:Subject", str(sidecar)],
                              capture_output=True, text=True, check=True)
        assert read.stdout.strip() == "Colosseum"
        client.post("/tags/untag", data={**csrf, "landmark": "colosseum"})
        job = app.desktop.jobs.wait(30)
        assert job.state == "done" and "2 removed" in job.message, job.message
    assert not sidecar.exists() or "Colosseum" not in subprocess.run(
        ["exiftool", "-s3", "-XMP-dc:Subject", str(sidecar)],
        capture_output=True, text=True).stdout


def test_serve_opens_the_printed_address_in_the_browser(library, monkeypatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)

    def ready_at_once(prepared, on_ready=None) -> None:
        prepared.sock.close()
        if on_ready is not None:
            on_ready()

    monkeypatch.setattr("photolm.desktop.server.serve", ready_at_once)
    code, out, _ = cli("serve", "--port", "0", "--catalog", library.catalog,
                       "--model", library.bundle)
    assert code == 0 and opened == [out.strip()]


def test_a_running_job_can_be_stopped(app, client, monkeypatch) -> None:
    slow_jobs(monkeypatch, 0.3)
    csrf = {"csrf": csrf_token(TOKEN)}
    client.post("/tags/preview", data=csrf)
    busy = client.post("/tags/preview", data=csrf)
    assert busy.status_code == 303 and busy.headers["location"].startswith("/tags?e=")
    assert "still running" in client.get(busy.headers["location"]).text
    res = client.post("/job/stop", data={**csrf, "next": "/tags"})
    assert res.headers["location"] == "/tags"
    job = app.desktop.jobs.wait(30)
    assert job.state == "stopped" and job.done < 9


def test_a_rescan_leaves_out_folders_not_there_now_and_names_them(
        own_photos, tmp_path, tiny_bundle_dir) -> None:
    """A typo once given to `photolm scan` (or a drive not mounted) is not scanned again on
    every re-scan, one problem line each time: the page names it apart."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import BASE, Library, make_settings

    photos, catalog = own_photos
    typo = tmp_path / "Picturs"
    assert cli("scan", typo, "--catalog", catalog, "--model", tiny_bundle_dir,
               "--quiet")[0] == 1
    app = create_app(make_settings(Library(photos, catalog, tiny_bundle_dir), tmp_path))
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        page = client.get("/scan").text
        assert "not there now" in page
        assert page.index(str(photos)) < page.index("not there now") < page.index(str(typo))
        client.post("/scan/start", data={"csrf": csrf_token(TOKEN)})
        job = app.desktop.jobs.wait(60)
        assert job.state == "done", job.message
        assert not [line for line in job.lines if "Picturs" in line], job.lines


def test_a_folder_whose_name_is_not_utf8_is_listed_once_and_scanned_again(
        tmp_path, tiny_bundle_dir) -> None:
    """The catalogue keeps a scan's roots in ``backslashreplace`` text: read back as they
    were, a folder named with a byte that is not UTF-8 was "not there now" on the Scan page,
    shown with its backslash doubled, and left out of every re-scan."""
    import os

    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import BASE, Library, make_settings

    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/trip \xff"))
    try:
        folder.mkdir()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses such a name")
    write_photo(folder / "tower.jpg", COLOURS["eiffel-tower"])
    catalog = tmp_path / "catalog.sqlite"
    assert cli("scan", folder, "--catalog", catalog, "--model", tiny_bundle_dir,
               "--quiet")[0] == 0
    newcomer = write_photo(folder / "later.jpg", COLOURS["colosseum"])
    app = create_app(make_settings(Library(folder, catalog, tiny_bundle_dir), tmp_path))
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        page = client.get("/scan").text
        assert "not there now" not in page
        assert page.count("trip \\xff") == 1 and "trip \\\\xff" not in page  # as printed
        client.post("/scan/start", data={"csrf": csrf_token(TOKEN)})
        job = app.desktop.jobs.wait(60)
        assert job.state == "done", job.message
    with Catalog.open(catalog, write=False) as cat:
        assert cat.get_photo(newcomer) is not None
        assert cat.scan_roots() == [str(folder)]


def test_the_tags_form_keeps_the_choice_a_preview_was_made_for(app, client) -> None:
    """Previewing one landmark, then pressing Write tags, writes that landmark: the form
    used to fall back to "all photos" when the page came back after the preview, so the
    write that followed tagged every photo. After the write its plan is no longer shown."""
    csrf = {"csrf": csrf_token(TOKEN)}
    client.post("/tags/preview", data={**csrf, "landmark": "colosseum", "mode": "embed"})
    assert app.desktop.jobs.wait(30).state == "done"
    page = client.get("/tags").text
    assert re.search(r'<option value="colosseum"\s+selected>', page)
    assert re.search(r'<option value="embed"\s+selected>', page)
    assert "Colosseum, into the photos: dry run" in page and "would-write" in page
    client.post("/tags/untag", data={**csrf, "landmark": "colosseum"})
    assert app.desktop.jobs.wait(30).state == "done"
    page = client.get("/tags").text
    assert re.search(r'<option value="colosseum"\s+selected>', page)
    assert not re.search(r'<option value="embed"\s+selected>', page)
    assert "would-write" not in page  # the plan was made before: stale now


def test_a_refused_action_is_said_on_its_page_after_a_redirect(app, client, library,
                                                               monkeypatch) -> None:
    """Scan pressed while a tag run goes on, an answer while a scan holds the write lock:
    the refusal was an error page answering the POST itself, so reloading it made the
    browser offer to send the action again. Now each redirects (POST, then GET) to the page
    it was asked from, which says why."""
    from photolm.desktop import app as app_module
    slow_jobs(monkeypatch, 0.3)
    csrf = {"csrf": csrf_token(TOKEN)}
    client.post("/tags/preview", data=csrf)
    for path, page in (("/scan/start", "/scan"), ("/tags/tag", "/tags")):
        res = client.post(path, data=csrf)
        assert res.status_code == 303 and res.headers["location"].startswith(f"{page}?e="), path
        html = client.get(res.headers["location"]).text
        assert re.search(r'class="error" role="alert">[^<]*still running', html), path
    client.post("/job/stop", data=csrf)
    app.desktop.jobs.wait(30)
    with Catalog.open(library.catalog, write=True) as cat:  # a scan writing, say
        photo = next(cat.iter_photos()).id
        monkeypatch.setattr(app_module, "LOCK_WAIT_S", 0.05)
        res = client.post(f"/photo/{photo}/review", data={**csrf, "action": "none"})
    assert res.status_code == 303 and res.headers["location"].startswith(f"/photo/{photo}?e=")
    assert "The catalogue is busy" in client.get(res.headers["location"]).text


def test_the_photo_page_says_when_its_written_tags_are_out_of_date(own_photos, tmp_path,
                                                                   tiny_bundle_dir) -> None:
    """Tags written for the Colosseum, then the photo corrected to the Taj Mahal: the page
    went on listing 'Colosseum (sidecar)' as if the file said what photolm says now."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import BASE, Library, make_settings

    photos, catalog = own_photos
    assert cli("tag", photos / "rome", "--catalog", catalog, "--quiet")[0] == 0
    app = create_app(make_settings(Library(photos, catalog, tiny_bundle_dir), tmp_path))
    with Catalog.open(catalog, write=False) as cat:
        photo = next(r.id for r in cat.iter_photos() if r.path.endswith("colosseum-0.jpg"))
    csrf = {"csrf": csrf_token(TOKEN)}
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        assert "Out of date" not in client.get(f"/photo/{photo}").text
        client.post(f"/photo/{photo}/review", data={**csrf, "action": "correct",
                                                    "landmark": "taj mahal"})
        html = client.get(f"/photo/{photo}").text
        assert "Out of date:</strong> it shows Taj Mahal now" in html
        client.post(f"/photo/{photo}/review", data={**csrf, "action": "none"})
        assert "it shows no landmark now" in client.get(f"/photo/{photo}").text


def test_a_long_tag_preview_says_it_shows_only_its_first_photos(app, client,
                                                                monkeypatch) -> None:
    """The plan lists at most MAX_PREVIEW_ROWS photos; a library with more showed that many
    rows under '334 would be written' with nothing saying the rest were left out."""
    from photolm.desktop import app as app_module

    monkeypatch.setattr(app_module, "MAX_PREVIEW_ROWS", 2)
    client.post("/tags/preview", data={"csrf": csrf_token(TOKEN)})
    job = app.desktop.jobs.wait(30)
    planned = len(job.result["photos"])
    assert planned > 2
    page = client.get("/tags").text
    assert page.count("<tr><td class=\"path\">") == 2
    assert f"The first 2 of {planned} photos" in page


def test_ctrl_c_ends_serve_with_status_0(library, monkeypatch) -> None:
    """Ctrl-C is how `photolm serve` is meant to stop: exit 0, no `Error:` line (README)."""
    served: list = []

    def until_ctrl_c(prepared, on_ready=None):
        served.append(prepared)
        raise KeyboardInterrupt

    monkeypatch.setattr("photolm.desktop.server.serve", until_ctrl_c)
    code, _out, err = cli("serve", "--no-browser", "--port", "0", "--catalog", library.catalog,
                          "--model", library.bundle)
    assert code == 0 and "Error" not in err and "Traceback" not in err
    assert len(served) == 1
    served[0].sock.close()


def _ended_while_drawn(app, client, monkeypatch, start: str, page: str) -> str:
    """Start a job at ``start``, fetch ``page`` and make the job end while the page is being
    drawn (after what the page reads, before its panel): the HTML drawn then."""
    from photolm.desktop import app as app_module
    from photolm.desktop.jobs import Job

    release = threading.Event()
    job_step = Job.step

    def held_step(self: Job) -> None:  # the job waits until the page is being drawn
        release.wait(30)
        job_step(self)

    real_token = app_module.csrf_token

    def token_after_the_job_ended(secret: str) -> str:  # called as the page is drawn
        release.set()
        app.desktop.jobs.wait(30)
        return real_token(secret)

    monkeypatch.setattr(Job, "step", held_step)
    assert client.post(start, data={"csrf": csrf_token(TOKEN)}).status_code == 303
    monkeypatch.setattr(app_module, "csrf_token", token_after_the_job_ended)
    html = client.get(page).text
    monkeypatch.setattr(app_module, "csrf_token", real_token)
    assert app.desktop.jobs.current.state == "done"
    return html


def test_a_preview_ending_while_its_page_is_drawn_shows_its_plan_or_keeps_polling(
        app, client, monkeypatch) -> None:
    """The Tags page read the preview's result (none yet), the preview ended, then the page
    drew the job as done: no plan, only a link, and no more polling (the browser test that
    waits for the plan timed out under load). The page now draws the job as it was before
    the result was read: still running (it polls, and fetches the plan when done) or done
    with its plan."""
    html = _ended_while_drawn(app, client, monkeypatch, "/tags/preview", "/tags")
    assert 'hx-get="/job"' in html or 'class="plan"' in html, (
        "a finished preview drawn without its plan, and no longer polling")
    assert 'class="plan"' in client.get("/tags").text  # the next draw shows the plan


def test_a_scan_ending_while_its_page_is_drawn_shows_it_or_keeps_polling(
        app, client, monkeypatch, library) -> None:
    """The same race on the Scan page: drawn "done" beside the last scan before it."""
    for i in range(2):  # work for the scan
        write_photo(library.photos / "new" / f"new-{i}.jpg", COLOURS["colosseum"])
    html = _ended_while_drawn(app, client, monkeypatch, "/scan/start", "/scan")
    facts = re.compile(r'<dl class="facts">.*?</dl>', re.S)
    now = facts.search(client.get("/scan").text)
    assert 'hx-get="/job"' in html or facts.search(html).group() == now.group(), (
        "a finished scan drawn beside the scan before it, and no longer polling")


@pytest.mark.parametrize("uncertain", [True, False])
def test_the_lost_learned_notice_links_the_uncertain_page_only_when_some_are_there(
        app, client, uncertain: bool) -> None:
    """docs/desktop.md: the Scan page's notice of photos a changed model took a learned
    name from links the Uncertain page when some of them are there, and only then."""
    from photolm.desktop.jobs import Job

    line = "Old Bridge: 2 photos named it before are now below its threshold"
    app.desktop.jobs.current = Job("scan", "Scan", state="done", lost=[line],
                                   lost_uncertain=uncertain)
    html = client.get("/scan").text
    assert line in html
    assert ('href="/uncertain">Review the uncertain photos' in html) is uncertain


def test_ctrl_c_on_serve_stops_a_running_tag_job_and_keeps_its_records(
        library, monkeypatch) -> None:
    """Ctrl-C ended `photolm serve` while a tag job ran in its thread: the process left
    mid-job, and the records of the photos it had written (saved as the job ends) were
    lost (review finding). The job is now stopped after the photo in hand and waited for."""
    from photolm.desktop.jobs import tag_work

    slow_jobs(monkeypatch, 0.3)
    started: list[object] = []

    def ctrl_c_during_a_job(prepared, on_ready=None) -> None:
        prepared.sock.close()
        jobs = prepared.app.desktop.jobs
        started.append(jobs.start("tag", "Writing tags", tag_work(
            library.catalog, "tag", embed=False, landmark_id=None)))
        time.sleep(0.5)
        raise KeyboardInterrupt

    monkeypatch.setattr("photolm.desktop.server.serve", ctrl_c_during_a_job)
    code, _, err = cli("serve", "--port", "0", "--no-browser", "--catalog", library.catalog,
                       "--model", library.bundle)
    assert code == 0, err
    assert "Stopping the running job (Writing tags) after the photo in hand" in err
    code, out, err = cli("list", "--json", "--catalog", library.catalog)
    written = [r for r in json.loads(out) if r.get("tag_status") == "written"]
    assert written, "the photos written before the stop are recorded as tagged"
