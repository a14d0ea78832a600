"""One writer per run or output folder, or one per shard: `flock` on `<folder>/.esgan.lock`.

Two commands writing one folder at once (two `esgan-train --model_dir=runs/a`, or two
`esgan-synthesize --out_dir=synth`) would interleave checkpoints or pairs; the second
one is refused with the first one's pid, host and command line instead. `flock` locks
belong to the open file, so the kernel drops the lock when its holder dies, also by
SIGKILL: a lock file left by a killed process blocks nobody, its stale content is just
overwritten by the next holder. The file is removed when the holder finishes.

    with run_lock(config.model_dir, what="training run"):
        ...  # write the folder

Shards of one job (`esgan-synthesize --num_shards=N --shard_index=K`) write disjoint
files of one folder at the same time. Each takes a shared lock on `.esgan.lock` and an
exclusive one on its own `.esgan.shard-K-of-N.lock`: shards exclude a second copy of
themselves, and an unsharded writer (exclusive on `.esgan.lock`) excludes them all and
is excluded by any of them. A shard removes `.esgan.lock` only when it is the last
holder (its lock converts to an exclusive one).
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
import time
from pathlib import Path

from tf_esgan.errors import UserError

LOCK_FILE = ".esgan.lock"
SHARD_LOCK_FILE = ".esgan.shard-{index}-of-{count}.lock"
_SHARD_LOCK_GLOB = ".esgan.shard-*-of-*.lock"
_HOLDER_BYTES = 4096  # more than any holder record written below
# File systems without flock support (some network mounts): run unlocked, as before.
_LOCKING_UNSUPPORTED = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
# A finishing shard holds `.esgan.lock` exclusively for an instant while removing it; a
# shard starting then waits this long before it counts the folder as taken.
_SHARED_ATTEMPTS, _SHARED_RETRY_SECONDS = 20, 0.025


class FolderLockedError(UserError, RuntimeError):
    """Another process is writing the folder (the message names it and what to do)."""


def _command_line() -> str:
    if not sys.argv or not sys.argv[0]:
        return "python"
    return shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])


def _read_holder(descriptor: int) -> str | None:
    try:
        record = json.loads(os.pread(descriptor, _HOLDER_BYTES, 0).decode())
        shard = f" (shard {record['shard']})" if record.get("shard") else ""
        return f"pid {record['pid']}@{record['host']}, running `{record['command']}`{shard}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _describe_holder(descriptor: int, folder: Path) -> str:
    holder = _read_holder(descriptor)
    if holder is not None:
        return holder
    # Shards leave `.esgan.lock` empty (they share it); each names itself in its own lock.
    shards = []
    for path in sorted(folder.glob(_SHARD_LOCK_GLOB)):
        with contextlib.suppress(OSError):
            shard_descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                shards.append(_read_holder(shard_descriptor))
            finally:
                os.close(shard_descriptor)
    shards = [shard for shard in shards if shard]
    # The holder has opened the file but not written its record yet.
    return "; ".join(shards) if shards else "another process"


def _is_current(descriptor: int, path: Path) -> bool:
    """Whether `path` still names the file of `descriptor` (a finishing holder unlinks it)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _acquire(path: Path, folder: Path, what: str, *, shared: bool = False) -> int:
    """Descriptor of the locked lock file; refuses a held lock."""
    attempts = _SHARED_ATTEMPTS if shared else 1
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(descriptor, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            attempts -= 1
            if attempts > 0:
                os.close(descriptor)
                time.sleep(_SHARED_RETRY_SECONDS)
                continue
            holder = _describe_holder(descriptor, folder)
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


def _release(descriptor: int, path: Path, *, shared: bool = False) -> None:
    """Unlinks `path` (if this is its last holder) and closes it."""
    try:
        if shared:
            # Last holder <=> the lock converts to exclusive; otherwise another shard
            # still writes and the file stays (it may lose the shared lock: we close anyway).
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return
        # Unlinked while still locked: a process that opened this file meanwhile finds
        # the path gone once it gets the lock and retries on a fresh file.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(descriptor)


def _write_record(descriptor: int, record: dict | None) -> None:
    os.ftruncate(descriptor, 0)  # also clears the record of a killed exclusive holder
    if record is not None:
        os.pwrite(descriptor, (json.dumps(record) + "\n").encode(), 0)


def shard_lock_path(folder: str | os.PathLike, shard_index: int, num_shards: int) -> Path:
    """`<folder>/.esgan.shard-K-of-N.lock`, the lock of shard K of N."""
    return Path(folder) / SHARD_LOCK_FILE.format(index=shard_index, count=num_shards)


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike, *, what: str, shard_index: int = 0, num_shards: int = 1):
    """Holds the folder's write lock (or shard `shard_index`'s) for the `with` block.

    Args:
      folder: the run or output folder (created if missing).
      what: what the folder is, for the message ("training run", "synthetic set").
      shard_index, num_shards: with `num_shards` > 1, the lock of one shard of a job
        whose shards write the folder at the same time (see the module docstring).
    Yields:
      The lock file's path (the shard's own lock for a shard).
    Raises:
      FolderLockedError: another process (or another `run_lock` of this process) holds
        it; the message names the holder's pid, host and command line.
    """
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"run_lock: shard_index must be in [0, {num_shards}), got {shard_index}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command_line(), "what": what}
    path = folder / LOCK_FILE
    if num_shards == 1:
        descriptor = _acquire(path, folder, what)
        try:
            _write_record(descriptor, record)
            yield path
        finally:
            _release(descriptor, path)
        return
    shard_path = shard_lock_path(folder, shard_index, num_shards)
    descriptor = _acquire(path, folder, what, shared=True)
    try:
        _write_record(descriptor, None)
        shard_descriptor = _acquire(shard_path, folder, f"{what} (shard {shard_index} of {num_shards})")
        try:
            _write_record(shard_descriptor, {**record, "shard": f"{shard_index} of {num_shards}"})
            yield shard_path
        finally:
            _release(shard_descriptor, shard_path)
    finally:
        _release(descriptor, path, shared=True)
