# SPDX-License-Identifier: GPL-3.0-or-later
"""A catalogue an earlier photolm scanned, opened after an upgrade that shipped a new network.

The photos' stored vectors are the old network's, which this photolm no longer has: only
the commands that match those vectors (learn, unlearn, places) may stop, with a line saying
a plain ``photolm scan`` is the way on and that nothing of the user's is lost. The ones that
only show or change what is catalogued (landmarks, info, serve) must keep working with the
shipped model. The catalogue is built as the older photolm left it (ids rewritten in SQL),
never by checking out old code.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from photolm.bundle import default_bundle_path, load_bundle
from tests.clirun import cli
from tests.tinybundle import COLOURS, write_photo

OLD_BUNDLE, OLD_NETWORK = "0" * 64, "1" * 64  # the earlier photolm's shipped model


@pytest.fixture
def upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One photo scanned with the shipped model, then rewritten as scanned by the earlier
    shipped one (another network); returns the catalogue."""
    monkeypatch.delenv("PHOTOLM_MODEL", raising=False)
    catalogue = tmp_path / "catalog.sqlite"
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalogue))
    write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    assert cli("confirm", tmp_path / "lib" / "eiffel.jpg", "-l", "Eiffel Tower")[0] == 0
    with sqlite3.connect(catalogue) as db:
        (new_id,) = db.execute("SELECT bundle_id FROM scans ORDER BY id DESC").fetchone()
        db.execute("UPDATE scans SET bundle_id = ?, model_id = NULL", (OLD_BUNDLE,))
        db.execute("UPDATE photos SET bundle_id = ?, model_id = ?", (OLD_BUNDLE, OLD_NETWORK))
        db.execute("UPDATE embeddings SET model_id = ?", (OLD_NETWORK,))
        db.execute("UPDATE meta SET key = ? WHERE key = ?", (f"bundle:{OLD_BUNDLE}",
                                                             f"bundle:{new_id}"))
    return catalogue


def _forget_the_folder(catalogue: Path) -> None:
    """As a photolm before 2026-12-07 18:27 left it: its scans kept no bundle folder."""
    with sqlite3.connect(catalogue) as db:
        db.execute("DELETE FROM meta WHERE key LIKE 'bundle:%'")


def _kept_elsewhere(catalogue: Path, flagged: bool) -> None:
    """As kept by an install that is gone: another venv (a reinstall, a new Python) whose
    shipped folder no longer exists; ``flagged``: the scan recorded it as shipped."""
    gone = "/home/u/.local/pipx/venvs/photolm/lib/python3.9/site-packages/photolm/models/default"
    kept = {"name": "default", "path": gone, **({"shipped": True} if flagged else {})}
    if flagged:  # a flagged record needs no tell-tale path
        kept["path"] = "/opt/photolm-old/bundle"
    with sqlite3.connect(catalogue) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(kept),
                                                               f"bundle:{OLD_BUNDLE}"))


@pytest.mark.parametrize("kept", ["shipped-folder", "no-folder", "reinstalled-elsewhere",
                                  "flagged-shipped"])
def test_landmarks_and_info_work_after_an_upgrade_changed_the_network(
        upgraded: Path, kept: str) -> None:
    if kept == "no-folder":
        _forget_the_folder(upgraded)
    elif kept != "shipped-folder":
        _kept_elsewhere(upgraded, flagged=kept == "flagged-shipped")
    code, out, err = cli("landmarks", "--json")
    assert code == 0, err
    assert "Error" not in err and "photolm scan" in err and "earlier photolm" in err
    rows = {r["name"]: r for r in json.loads(out)}
    assert len(rows) == len(load_bundle().landmarks)  # the shipped model's
    assert rows["Eiffel Tower"]["photos"] == 1  # what the catalogue holds, answer kept
    code, out, err = cli("info", "--json")
    assert code == 0, err
    model = json.loads(out)["model"]
    assert "error" not in model and model["path"] == str(default_bundle_path())
    assert model["scanned_with"] is False and "photolm scan" in model["note"]


def test_serve_opens_after_an_upgrade_changed_the_network(
        upgraded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list = []  # serve up to where it would block in uvicorn
    monkeypatch.setattr("photolm.desktop.server.serve",
                        lambda prepared, on_ready=None: served.append(prepared))
    code, _, err = cli("serve", "--no-browser", "--port", "0")
    assert code == 0, err
    assert "earlier photolm" in err and "photolm scan" in err
    assert served[0].settings.bundle_id == load_bundle().bundle_id
    served[0].sock.close()


@pytest.mark.parametrize("command", [["learn", "Old Bridge"], ["places"],
                                     ["unlearn", "Old Bridge"]])
def test_vector_commands_say_a_scan_is_the_way_on(upgraded: Path, tmp_path: Path,
                                                  command: list) -> None:
    args = [*command, tmp_path / "lib" / "eiffel.jpg"] if command[0] == "learn" else command
    code, out, err = cli(*args)
    (line,) = err.splitlines()
    assert code == 1 and not out and line.startswith("Error: ")
    assert "earlier photolm" in line and "run photolm scan" in line
    assert "answers, learned landmarks and tags are kept" in line
    assert "no longer holds it" not in line  # no folder of the user's ever held it


def test_info_compares_the_network_not_the_manifest(upgraded: Path) -> None:
    """Same network, manifest rewritten by the upgrade: the shipped model is the one the
    photos were scanned with."""
    with sqlite3.connect(upgraded) as db:
        db.execute("UPDATE photos SET model_id = ?", (load_bundle().model_id,))
        db.execute("UPDATE embeddings SET model_id = ?", (load_bundle().model_id,))
    code, out, err = cli("info", "--json")
    assert code == 0, err
    model = json.loads(out)["model"]
    assert model["scanned_with"] is True and "note" not in model


@pytest.mark.parametrize("bundle", ["same", "earlier"])
def test_list_uncertain_says_which_photos_an_older_photolm_left_unweighed(
        env: Path, tmp_path: Path, bundle: str) -> None:
    """A photolm of 2026-12-01 kept no threshold per model: ``list --uncertain`` cannot weigh
    its photos, and must say so rather than print a silent "0 uncertain photos", until a
    scan (README), whether it scanned them with the bundle this one has or an earlier
    bundle of the same network (which the scan re-matches them with)."""
    for name in ("eiffel-tower", "colosseum"):
        write_photo(tmp_path / "lib" / f"{name}.jpg", COLOURS[name])
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    # answered: never uncertain
    assert cli("confirm", tmp_path / "lib" / "eiffel-tower.jpg")[0] == 0
    code, _, err = cli("list", "--uncertain", "--margin", "1")
    assert code == 0 and "left out" not in err, err
    with sqlite3.connect(env) as db:  # as that photolm left it
        db.execute("DELETE FROM meta WHERE key LIKE 'threshold:%'")
        if bundle == "earlier":
            db.execute("UPDATE photos SET bundle_id = ?", (OLD_BUNDLE,))
    code, out, err = cli("list", "--uncertain", "--margin", "1", "--json")
    assert code == 0 and json.loads(out) == []
    assert "1 photo left out: an earlier photolm recognised it" in err
    assert "photolm scan once to include it" in err
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0  # "until a scan" (README)
    code, _, err = cli("list", "--uncertain", "--margin", "1")
    assert code == 0 and "left out" not in err, err


def test_a_scan_says_why_it_reads_unchanged_photos_again(env: Path, tmp_path: Path) -> None:
    """After an upgrade that ships another network, the first scan reads every photo again
    (a 40,000-photo library takes a full scan's time): it says why, before the work."""
    write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    with sqlite3.connect(env) as db:  # as the earlier photolm's scan left them
        db.execute("UPDATE photos SET bundle_id = ?, model_id = ?", (OLD_BUNDLE, OLD_NETWORK))
        db.execute("UPDATE embeddings SET model_id = ?", (OLD_NETWORK,))
    code, out, err = cli("scan", tmp_path / "lib", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["processed"] == 1 and summary["reread_other_model"] == 1
    assert "1 unchanged photo read again: their stored vectors are another model's" in err
    code, out, err = cli("scan", tmp_path / "lib", "--json")  # now this network's: nothing
    assert json.loads(out)["reread_other_model"] == 0 and "read again" not in err


def test_the_read_again_line_comes_before_the_work(env: Path, tmp_path: Path) -> None:
    """README: `reread_other_model` is "said in one line before the work": before the
    warning of a photo the work then fails to read, and before the summary."""
    import os

    lib = tmp_path / "lib"
    write_photo(lib / "eiffel.jpg", COLOURS["eiffel-tower"])
    broken = write_photo(lib / "colosseum.jpg", COLOURS["colosseum"])
    assert cli("scan", lib, "--quiet")[0] == 0
    with sqlite3.connect(env) as db:  # as the earlier photolm's scan left them
        db.execute("UPDATE photos SET bundle_id = ?, model_id = ?", (OLD_BUNDLE, OLD_NETWORK))
        db.execute("UPDATE embeddings SET model_id = ?", (OLD_NETWORK,))
    # unreadable now, yet unchanged to the scan's eye (same size, same time): read again,
    # and its warning is the work's
    st = broken.stat()
    data = broken.read_bytes()
    broken.write_bytes(data[:200] + bytes(len(data) - 200))
    os.utime(broken, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, _, err = cli("scan", lib)
    assert code == 1, err
    said = err.index("2 unchanged photos read again: their stored vectors are another model's")
    assert said < err.index("colosseum.jpg") < err.index("photos found"), err
    assert err.count("read again: their stored vectors") == 1
