# SPDX-License-Identifier: GPL-3.0-or-later
"""Replace a file so that, whatever happens, it is either wholly old or wholly new.

The recipe: write the new content to a temporary file *in the same folder* (a rename is only
atomic within one file system), flush it to disk, verify it, give it the original's mode,
owner and (by default) modification time, then ``os.replace`` it over the original and flush
the folder so the rename itself survives a power cut. Any failure before the rename deletes
the temporary file and leaves the original byte-identical; there is no moment at which the
original is partly written.

Temporary files are named ``.photolm-tmp-<pid>-<random>-<name>``; the folder walker skips
every ``.photolm*`` name, so a scan never picks one up even if a crash leaves it behind. A
``kill -9`` (or a power cut) between writing and renaming does leave one behind: the next
write into that folder removes such leftovers whose writer no longer runs
(:func:`remove_stale_temps`), so no litter accumulates and no live writer's file is touched.
A live writer holds an exclusive lock on its temporary file from creation to rename (the
kernel drops it when the writer dies): the pid in the name alone could lie, because a busy
machine reuses pids (threads take them too) within seconds.

Permission checks look at the mode bits as well as ``os.access``: photolm usually runs as an
ordinary user, but as root ``os.access`` says yes to everything, and a file a person marked
read-only must stay untouched whoever runs photolm.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

from photolm.errors import TagError
from photolm.printed_paths import printed
from photolm.storage import (
    no_space,
    no_space_message,
    read_only_file_system,
    too_large,
    too_large_message,
)

if sys.platform != "win32":
    import fcntl

TEMP_PREFIX = ".photolm-tmp-"
# A writer locks its temporary file microseconds after creating it; an unlocked one younger
# than this may be in that gap and is left alone.
_LOCK_GRACE_S = 10.0
_MAX_NAME = 255
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def before_replace(temp: Path, target: Path) -> None:
    """Called after the temporary file is complete and verified, just before the rename.

    Does nothing. It exists so that tests can make it raise and prove that a failure at the
    last possible moment leaves the original untouched and no temporary file behind.
    """


def temp_path(target: Path) -> Path:
    token = secrets.token_hex(4)
    prefix = f"{TEMP_PREFIX}{os.getpid()}-{token}-"
    name = os.fsencode(target.name)
    keep = _MAX_NAME - len(os.fsencode(prefix))
    return target.with_name(prefix + os.fsdecode(name[-keep:] if len(name) > keep else name))


_cleaned: set[str] = set()


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete temporary files a killed photolm left in ``folder``; returns what was removed.

    Only names of our own pattern whose writer is gone are removed: the pid in the name no
    longer runs, or (that pid reused) no writer holds the file's lock. Each folder is looked
    at once per process, so tagging a folder of thousands of photos lists it once, not once
    per photo.
    """
    key = os.fsdecode(os.path.abspath(folder))
    if key in _cleaned:
        return []
    _cleaned.add(key)
    removed: list[Path] = []
    try:
        entries = os.scandir(folder)
    except OSError:
        return removed
    with entries:
        for entry in entries:
            pid = _writer_pid(entry.name)
            if pid is None or pid == os.getpid():
                continue
            try:
                if entry.is_file(follow_symlinks=False) and _abandoned(entry.path, pid):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:  # gone already, or not ours to delete: leave it
                continue
    return removed


def _writer_pid(name: str) -> int | None:
    if not name.startswith(TEMP_PREFIX):
        return None
    pid, _, rest = name[len(TEMP_PREFIX):].partition("-")
    return int(pid) if pid.isdigit() and rest else None


def _abandoned(path: str, pid: int) -> bool:
    """Whether no photolm writes this temporary file any more (see the module's docstring)."""
    if not _running(pid):
        return True
    if sys.platform == "win32":  # no lock to ask: a running pid counts as a live writer
        return False
    if time.time() - os.lstat(path).st_mtime < _LOCK_GRACE_S:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # a live writer holds it
        return False
    finally:
        os.close(fd)
    return True


def _running(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) there sends CTRL_C: never probe that way
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's (EPERM): treat as running
        return True
    return True


def check_writable_file(path: Path, st: os.stat_result, purpose: str = "tag it") -> None:
    """``purpose`` completes "make it writable to ..." (``tag it``, ``remove photolm's
    tags``)."""
    if read_only_file_system(path):
        raise TagError(f"{printed(path)} is on a read-only file system (mount it "
                       f"read-write to {purpose})")
    if not st.st_mode & _WRITE_BITS or not os.access(path, os.W_OK):
        raise TagError(f"read-only file: {printed(path)} (make it writable to {purpose})")


def check_writable_folder(folder: Path, what: str) -> None:
    """``what`` completes "folder is read-only: cannot ..." for the user."""
    try:
        st = folder.stat()
    except FileNotFoundError:
        raise TagError(f"file vanished: folder {printed(folder)} no longer exists") from None
    except OSError as exc:
        raise TagError(f"cannot look at folder {printed(folder)}: {exc.strerror}") from None
    if read_only_file_system(folder):
        raise TagError(f"read-only file system: cannot {what} (mount it read-write, or "
                       "copy the photos somewhere writable)")
    if not st.st_mode & _WRITE_BITS or not os.access(folder, os.W_OK | os.X_OK):
        raise TagError(f"folder is read-only: cannot {what}")


def stat_existing(path: Path) -> os.stat_result:
    """``os.stat`` with photolm's one-line errors."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise TagError(f"file vanished: {printed(path)}") from None
    except OSError as exc:
        raise TagError(f"cannot read {printed(path)}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise TagError(f"not a regular file: {printed(path)}")
    return st


def read_bytes(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's content and its status, taken from the same open file."""
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            return handle.read(), st
    except FileNotFoundError:
        raise TagError(f"file vanished: {printed(path)}") from None
    except OSError as exc:
        raise TagError(f"cannot read {printed(path)}: {exc.strerror}") from None


def replace_file(target: Path, data: bytes, *, verify: Callable[[Path], None],
                 original: os.stat_result | None, keep_mtime: bool = True) -> None:
    """Atomically make ``target`` hold ``data``.

    ``original`` is the status of ``target`` when its content was read (``None`` when
    ``target`` is being created): if the file has changed since, another program wrote it
    and photolm gives up rather than lose that write. ``verify(temp)`` raises
    :class:`TagError` (or ``ValueError``) if the temporary file is not right.
    """
    folder = target.parent
    if original is not None:
        check_writable_file(target, original)
        if original.st_nlink > 1:
            raise TagError(f"{printed(target)} has {original.st_nlink} hard links; "
                           "rewriting it would split them (use sidecar mode)")
    check_writable_folder(folder, f"write {printed(target)} safely (photolm writes a "
                                  "temporary copy beside it first)")
    remove_stale_temps(folder)
    temp = temp_path(target)
    held: int | None = None  # the open, locked temporary file: "a live writer has it"
    try:
        held = _write_new(temp, data)
        try:
            verify(temp)
        except ValueError as exc:
            raise TagError(f"verification failed for {printed(target)}: {exc}; "
                           "the original is untouched") from None
        if original is not None:
            _copy_status(temp, target, original, keep_mtime=keep_mtime)
        before_replace(temp, target)
        _check_unchanged(target, original)
        os.replace(temp, target)
    except BaseException as exc:
        _discard(temp, exc)
        if isinstance(exc, OSError):
            raise _as_tag_error(exc, target, existed=original is not None) from None
        raise
    finally:
        if held is not None:
            os.close(held)
    fsync_folder(folder)


def delete_file(target: Path, *, original: os.stat_result) -> None:
    """Remove ``target`` (a sidecar photolm created and emptied) unless it changed since."""
    check_writable_folder(target.parent, f"remove {printed(target)}")
    _check_unchanged(target, original)
    try:
        target.unlink()
    except OSError as exc:
        raise _as_tag_error(exc, target) from None
    fsync_folder(target.parent)


# What a file system that cannot flush a folder answers (some network and FUSE file
# systems): the rename is done all the same, so photolm does not call it a failure.
_NO_FOLDER_SYNC = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF,
                             errno.EACCES, errno.EPERM, getattr(errno, "ENOSYS", errno.EINVAL)})


def fsync_folder(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (POSIX only: Windows cannot open a
    folder, and its renames are journaled by NTFS). Where the file system cannot flush a
    folder, the rename already happened: that is not a failed write."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno not in _NO_FOLDER_SYNC:
            raise


def _write_new(temp: Path, data: bytes) -> int:
    """Create ``temp`` with ``data``; returns its descriptor, still open and (POSIX) locked
    until the caller closes it after the rename."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o666)  # the umask applies, as for any new file
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _copy_status(temp: Path, target: Path, original: os.stat_result, *,
                 keep_mtime: bool) -> None:
    if hasattr(os, "chown") and (original.st_uid, original.st_gid) != _owner(temp):
        try:
            os.chown(temp, original.st_uid, original.st_gid)
        except PermissionError:
            raise TagError(f"{printed(target)} belongs to another user and photolm "
                           "cannot keep that owner on the rewritten file; use sidecar mode"
                           ) from None
    _copy_xattrs(target, temp)
    os.chmod(temp, stat.S_IMODE(original.st_mode))
    if keep_mtime:
        os.utime(temp, ns=(original.st_atime_ns, original.st_mtime_ns))


def _copy_xattrs(target: Path, temp: Path) -> None:
    """Give ``temp`` the extended attributes of ``target``, which the rename would drop with
    it: the tags, comments and ratings file managers keep there (KDE's ``user.xdg.tags``,
    ``user.baloo.rating``), a POSIX ACL (``system.posix_acl_access``). One that cannot be
    kept stops the rewrite, the original untouched; only ``security.*`` labels, which the
    system sets on the new file itself, may stay as it made them. Where Python has no
    extended-attribute calls (macOS, Windows) there is nothing to copy with."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(target)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return  # a file system without extended attributes
        raise
    for name in names:
        value: bytes | None = None
        try:
            value = os.getxattr(target, name)
            os.setxattr(temp, name, value)
        except OSError as exc:
            if (name.startswith("security.") or exc.errno == errno.ENODATA  # gone since
                    or (value is not None and _has_xattr(temp, name, value))):
                continue
            raise TagError(f"{printed(target)} has an extended attribute photolm cannot keep "
                           f"on the rewritten file ({name}: {exc.strerror}); use sidecar mode"
                           ) from None


def _has_xattr(path: Path, name: str, value: bytes) -> bool:
    """Whether ``path`` has ``name`` set to ``value`` already (one the file system gives
    every new file of the folder, such as an inherited ACL)."""
    try:
        return os.getxattr(path, name) == value
    except OSError:
        return False


def _owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def _check_unchanged(target: Path, original: os.stat_result | None) -> None:
    try:
        now = target.stat()
    except FileNotFoundError:
        if original is None:
            return
        raise TagError(f"file vanished: {printed(target)}") from None
    if original is None:
        raise TagError(f"{printed(target)} appeared while photolm was writing it; "
                       "nothing changed, try again")
    if (now.st_ino, now.st_size, now.st_mtime_ns) != (
            original.st_ino, original.st_size, original.st_mtime_ns):
        raise TagError(f"{printed(target)} changed while photolm was writing it; "
                       "nothing changed, try again")


def _discard(temp: Path, cause: BaseException) -> None:
    try:
        temp.unlink()
    except FileNotFoundError:
        pass  # never created (the failure came first): nothing to clean up
    except OSError as exc:
        cause.add_note(f"photolm could not remove its temporary file {printed(temp)}: "
                       f"{exc.strerror}")


def _as_tag_error(exc: OSError, target: Path, *, existed: bool = True) -> TagError:
    where = printed(target)
    untouched = "the original is untouched" if existed else "nothing was written"
    if isinstance(exc, FileNotFoundError):
        return TagError(f"file vanished: {where}")
    if isinstance(exc, PermissionError):
        return TagError(f"permission denied writing {where}; {untouched}")
    if no_space(exc):
        return TagError(f"{no_space_message(target)} ({untouched})")
    if too_large(exc):
        return TagError(f"{too_large_message(target)}; {untouched}")
    if exc.errno == errno.ENAMETOOLONG:
        return TagError(f"the name {where} is too long for its file system (255 bytes at "
                        f"most); {untouched}")
    return TagError(f"could not write {where} ({exc.strerror}); {untouched}")
