# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm writes only where it says it does: its catalogue and its caches, nothing beside the
photos, in the working folder or left in TMPDIR; and ``photolm-export`` leaves the git
checkout it records the commit of as it was.

``scripts/privacy_audit.py`` observes every command with strace in an empty network
namespace (docs/guarantees.md, "Privacy audit"); these tests keep what it found true on
every CI run without strace: every command runs in a fresh interpreter with an empty HOME,
no ``XDG_*`` variables, its own TMPDIR and an empty working folder, as on a first run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.robustness.helpers import RUN_COMMANDS
from tests.robustness.test_no_network import _commands
from tests.tinybundle import COLOURS, write_photo

RUN_ALL = r"""
import json, sys
commands = json.loads(sys.argv[1])
""" + RUN_COMMANDS + r"""
print(json.dumps(codes))
"""

# What a first run of photolm may create under HOME: the catalogue's folder (platformdirs'
# user data folder) and photolm's own cache folder (places' groups, the desktop's thumbnails).
OWN = ((".local",), (".local", "share"), (".local", "share", "photolm"), (".cache",),
       (".cache", "photolm"))


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.skipif(sys.platform != "linux", reason="the folder names are Linux's (platformdirs)")
def test_every_command_writes_only_its_catalogue_and_caches(tmp_path: Path,
                                                            tiny_bundle_dir: Path) -> None:
    photos = tmp_path / "photos"
    for name, colour in COLOURS.items():
        write_photo(photos / f"{name}.jpg", colour)
    originals = _tree(photos)
    home, tmp, cwd = tmp_path / "home", tmp_path / "tmp", tmp_path / "cwd"
    for folder in (home, tmp, cwd):
        folder.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("XDG_", "PHOTOLM_")) and key not in ("TMPDIR", "TEMP", "TMP")}
    env.update(HOME=str(home), TMPDIR=str(tmp), PHOTOLM_MODEL=str(tiny_bundle_dir),
               PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    commands = _commands(photos)
    res = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps(commands)], cwd=cwd,
                         env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[-1]) == [0] * len(commands), res.stderr

    written = {Path(p).parts for p in _tree(home)}
    catalogue = home / ".local" / "share" / "photolm" / "catalog.sqlite"
    assert catalogue.is_file()  # the default catalogue really was used: the check bites
    assert (home / ".cache" / "photolm" / "places").is_dir()  # `places` kept its cache
    stray = sorted("/".join(p) for p in written
                   if p not in OWN and p[:3] != (".local", "share", "photolm")
                   and p[:2] != (".cache", "photolm"))
    assert stray == [], "written under HOME outside photolm's own folders"
    assert _tree(tmp) == set(), "left in TMPDIR"
    assert _tree(cwd) == set(), "written in the working folder"
    assert _tree(photos) == originals, "left beside the photos (tag then untag)"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t",
                           *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode,
                    reason="no git")
def test_export_provenance_leaves_the_checkouts_git_index_alone(tmp_path: Path) -> None:
    """``git status`` refreshes a stale index and writes it back (taking index.lock) unless
    told not to: a write in the user's checkout, and a clash with their own git command."""
    from export.provenance import git_state

    repo = tmp_path / "checkout"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "tracked.py").write_text("x = 1\n")
    _git(repo, "add", "tracked.py")
    _git(repo, "commit", "-qm", "first")
    # Same content, new times: the index's stat data is stale, as after a checkout or a copy.
    os.utime(repo / "tracked.py", (1_700_000_000, 1_700_000_000))
    index = repo / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)

    state = git_state(repo)

    assert state == {"commit": _git(repo, "rev-parse", "HEAD").strip(), "dirty": False}
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert not (repo / ".git" / "index.lock").exists()
