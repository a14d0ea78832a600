"""One writer per run or output folder: an exclusive `flock` on `<folder>/.esgan.lock`.

Two commands writing one folder at once (two `esgan-train --model_dir=runs/a`, or two
`esgan-synthesize --out_dir=synth`) would interleave checkpoints or pairs; the second
one is refused with the first one's pid, host and command line instead. `flock` locks
belong to the open file, so the kernel drops the lock when its holder dies, also by
SIGKILL: a lock file left by a killed process blocks nobody, its stale content is just
overwritten by the next holder. The file is removed when the holder finishes.

    with run_lock(config.model_dir, what="training run"):
        ...  # write the folder
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
from pathlib import Path

from tf_esgan.errors import UserError

LOCK_FILE = ".esgan.lock"
_HOLDER_BYTES = 4096  # more than any holder record written below
# File systems without flock support (some network mounts): run unlocked, as before.
_LOCKING_UNSUPPORTED = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})


class FolderLockedError(UserError, RuntimeError):
    """Another process is writing the folder (the message names it and what to do)."""


def _command_line() -> str:
    if not sys.argv or not sys.argv[0]:
        return "python"
    return shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])


def _describe_holder(descriptor: int) -> str:
    try:
        record = json.loads(os.pread(descriptor, _HOLDER_BYTES, 0).decode())
        return f"pid {record['pid']}@{record['host']}, running `{record['command']}`"
    except (OSError, ValueError, KeyError, TypeError):
        # The holder has opened the file but not written its record yet.
        return "another process"


def _is_current(descriptor: int, path: Path) -> bool:
    """Whether `path` still names the file of `descriptor` (a finishing holder unlinks it)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _acquire(path: Path, folder: Path, what: str) -> int:
    """Descriptor of the locked lock file; refuses a held lock."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(descriptor)
            os.close(descriptor)
            raise FolderLockedError(
                f"{folder}: this {what} folder is being written by {holder} (lock {path}); "
                f"wait for it to finish or stop it, or choose another folder") from None
        except OSError as error:
            if error.errno in _LOCKING_UNSUPPORTED:
                return descriptor
            os.close(descriptor)
            raise
        if _is_current(descriptor, path):
            return descriptor
        # We locked a file its holder had just unlinked on release; lock the new one.
        os.close(descriptor)


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike, *, what: str):
    """Holds the folder's write lock for the duration of the `with` block.

    Args:
      folder: the run or output folder (created if missing).
      what: what the folder is, for the message ("training run", "synthetic set").
    Yields:
      The lock file's path.
    Raises:
      FolderLockedError: another process (or another `run_lock` of this process) holds
        it; the message names the holder's pid, host and command line.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    descriptor = _acquire(path, folder, what)
    try:
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command_line(), "what": what}
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (json.dumps(record) + "\n").encode(), 0)
        yield path
    finally:
        # Unlinked while still locked: a process that opened this file meanwhile finds
        # the path gone once it gets the lock and retries on a fresh file.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(descriptor)
