"""Atomic file writing: a reader (or a crash) never sees a half-written file.

Files are created with the permissions of the process umask, like any ordinary tool
(0644 under umask 022, 0600 under 077), although `tempfile` makes private 0600 files.
A full disk (or quota, or file-size limit) while writing raises `DiskFullError`, an
OSError naming the file that could not be written. Also here: facts about this process
(umask, start time) and `captured_stderr`, for C libraries that print on stderr.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

from tf_esgan.errors import UserError

TEMPORARY_SUFFIX = ".tmp"
_DISK_FULL_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system or the file-size limit (ulimit -f)",
}


class DiskFullError(UserError, OSError):
    """A file could not be written for lack of space; `filename` is the file meant."""

    def __str__(self) -> str:
        return (f"{self.filename}: could not write it: {self.strerror}; the file was left as it was. "
                "Free some space (or raise the limit) and rerun")


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is an OSError for a full disk, quota or file-size limit."""
    return isinstance(error, OSError) and error.errno in _DISK_FULL_REASONS


def disk_full_error(error: OSError, path: str | os.PathLike) -> DiskFullError:
    """`error` (ENOSPC, EDQUOT or EFBIG) restated for the final `path`, not a temporary one."""
    return DiskFullError(error.errno, _DISK_FULL_REASONS[error.errno], os.fspath(path))


def disk_full_error_from_text(message: str, path: str | os.PathLike) -> DiskFullError | None:
    """The `DiskFullError` for `path` if `message` quotes the C library's text of a full
    disk, quota or file-size limit ("No space left on device"...); otherwise None.

    For errors that carry no errno, such as TensorFlow's (ENOSPC arrives as a
    ResourceExhaustedError, EFBIG as an OutOfRangeError, each quoting `strerror`).
    """
    for number in _DISK_FULL_REASONS:
        if os.strerror(number) in message:
            return disk_full_error(OSError(number, os.strerror(number)), path)
    return None


def process_umask() -> int:
    """The process umask, read without changing it where Linux allows it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    # Elsewhere the only way to read it is to set it; restored at once.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def process_start_time() -> float | None:
    """When this process started, in seconds since the epoch (about 1 s resolution, Linux
    /proc); None where that cannot be read."""
    with contextlib.suppress(OSError, ValueError, IndexError, StopIteration):
        with open("/proc/self/stat") as stat:
            # Field 2, the command name in parentheses, may hold spaces; field 22 (the
            # start in clock ticks after boot) is the 20th after its closing parenthesis.
            ticks = int(stat.read().rpartition(")")[2].split()[19])
        with open("/proc/stat") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    return None


@contextlib.contextmanager
def captured_stderr(write_back: Callable[[str], str] | None = None):
    """Sends what is written on file descriptor 2 during the block to a temporary file.

    C libraries print there directly (libpng's "libpng error: ...", TensorFlow's C++ log
    lines), past `sys.stderr`. Afterwards, also on an exception, `write_back(text)` is
    written to stderr (nothing without `write_back`). The descriptor is the process's:
    lines other threads write meanwhile are captured too, and two captures must not
    overlap, so use it from one thread around short, single-threaded work.
    """
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    try:
        with tempfile.TemporaryFile() if write_back else open(os.devnull, "wb") as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved_stderr, 2)
                if write_back:
                    captured.seek(0)
                    sys.stderr.write(write_back(captured.read().decode("utf-8", "replace")))
                    sys.stderr.flush()
    finally:
        os.close(saved_stderr)


def file_mode() -> int:
    """Mode of a new ordinary file under the process umask (0o644 under umask 022)."""
    return 0o666 & ~process_umask()


def folder_mode() -> int:
    """Mode of a new ordinary folder under the process umask (0o755 under umask 022)."""
    return 0o777 & ~process_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside `path`; renames it onto `path` only on success.

    The temporary name starts with "." so folder listings skip it; on an exception it
    is removed and `path` is left as it was. The file gets the umask's permissions.

    Raises:
      DiskFullError: the disk, a quota or a file-size limit was full while writing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    except OSError as error:
        if is_disk_full(error):  # e.g. no free inodes
            raise disk_full_error(error, path) from error
        raise
    try:
        # mkstemp makes private 0600 files; a written file should be readable like any other.
        os.fchmod(handle, file_mode())
    finally:
        os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise disk_full_error(error, path) from error
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to `path` atomically and durably (fsync before the rename)."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())


def remove_temporary_leftovers(folder: str | os.PathLike) -> list[Path]:
    """Deletes the `.<name>.<random>.tmp` files `atomic_path` left in `folder` when killed.

    Only safe while no other process writes `folder` (hold its `run_lock`). Returns the
    deleted paths.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        if leftover.is_file():
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
            removed.append(leftover)
    return removed


class UnwritableFolderError(UserError, OSError):
    """An output folder cannot be created or written (the message names the flag and path)."""


def ensure_writable_dir(path: str | os.PathLike, flag: str = "--model_dir") -> Path:
    """Creates the output folder `path` if needed and checks that files can be written in it.

    Jobs call it before anything expensive, so an unwritable output is reported at once
    rather than after training or loading a model (and not as TensorFlow's
    `PermissionDeniedError`, which is no OSError). A test file is created and deleted,
    because permission bits do not tell about read-only mounts (or anything, to root).

    Args:
      path: the folder.
      flag: the flag (or argument) that named it, for the message.
    Returns:
      `path` as a Path.
    Raises:
      UnwritableFolderError: naming `flag`, `path` and the reason.
    """
    folder = Path(path)
    try:
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied")
        handle, probe = tempfile.mkstemp(prefix=".esgan-write-test.", suffix=TEMPORARY_SUFFIX, dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UnwritableFolderError(f"{flag}={os.fspath(path)}: cannot write there ({reason.lower()}); "
                                    "choose a folder you can write to") from error
    return folder
