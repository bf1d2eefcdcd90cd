# SPDX-License-Identifier: GPL-3.0-or-later
"""The permissions a file or folder written under a temporary name ends up with.

Writers that stage their output (``tempfile.mkstemp``: 0600, ``mkdtemp``: 0700) and rename it
into place would otherwise hide a bundle installed for every user of a machine, or a training
run shared on a GPU machine, from everyone but its writer. The staged file gets what an
ordinary ``open`` or ``mkdir`` would have given it: 0666 or 0777 less the umask. Used by the
bundle writer (photolm.bundle) and the trainer's run-folder writes (trainer.atomic).
"""

from __future__ import annotations

import os
from pathlib import Path


def as_if_created(path: Path | str, *, folder: bool = False) -> None:
    """Give ``path`` the mode a plain create would have: 0666 (0777 for a ``folder``) less
    the process's umask. The umask can only be read by setting it, so it is set back at
    once."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if folder else 0o666) & ~mask)
