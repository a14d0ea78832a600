"""One writer per folder (or per shard): a second writer is refused naming the holder; a killed holder
blocks nobody."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tf_esgan.errors import UserError
from tf_esgan.run_lock import LOCK_FILE, FolderLockedError, run_lock

REPO = Path(__file__).resolve().parents[1]
HOLD = """
import sys, time
from tf_esgan.run_lock import run_lock
with run_lock(sys.argv[1], what="test"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_second_writer_in_the_same_process_is_refused_with_the_holder(tmp_path):
    folder = tmp_path / "run"
    with run_lock(folder, what="training run") as path:
        assert path == folder / LOCK_FILE
        record = json.loads(path.read_text())
        assert record["pid"] == os.getpid() and record["what"] == "training run"
        # flock locks belong to the open file, so a second open() conflicts in one process too.
        with pytest.raises(FolderLockedError) as refused:
            with run_lock(folder, what="training run"):
                pass
        message = str(refused.value)
        assert isinstance(refused.value, UserError)
        assert str(folder) in message and f"pid {os.getpid()}@" in message and "training run" in message
        assert "wait for it to finish" in message and "choose another folder" in message
    assert not path.exists()  # released: nothing left behind
    with run_lock(folder, what="training run"):  # and free again
        pass


def test_a_killed_holder_does_not_block_the_next_run(tmp_path):
    folder = tmp_path / "set"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderLockedError, match=rf"pid {holder.pid}@\S+, running `-c {folder}`"):
            with run_lock(folder, what="synthetic set"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close()
    assert (folder / LOCK_FILE).exists()  # a SIGKILL leaves the file, but not the lock
    with run_lock(folder, what="synthetic set") as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()  # stale content replaced


def test_a_lock_file_being_released_is_not_shared(tmp_path, monkeypatch):
    """A writer that opened the file just before the holder unlinked it retries on a new file."""
    import tf_esgan.run_lock as module

    folder = tmp_path / "run"
    folder.mkdir()
    real_open = os.open
    opened = []

    def open_then_holder_releases(path, flags, mode=0o777):
        descriptor = real_open(path, flags, mode)
        if not opened:  # the first open sees a file whose holder then finishes
            os.unlink(path)
        opened.append(descriptor)
        return descriptor

    monkeypatch.setattr(module.os, "open", open_then_holder_releases)
    started = time.monotonic()
    with run_lock(folder, what="run") as path:
        assert len(opened) == 2 and path.exists()
        assert os.stat(path).st_ino == os.fstat(opened[1]).st_ino
    assert time.monotonic() - started < 5


def test_shards_share_the_folder_and_exclude_an_unsharded_writer(tmp_path):
    folder = tmp_path / "set"
    with run_lock(folder, what="synthetic set", shard_index=0, num_shards=2) as first:
        with run_lock(folder, what="synthetic set", shard_index=1, num_shards=2) as second:
            assert (first.name, second.name) == (".esgan.shard-0-of-2.lock", ".esgan.shard-1-of-2.lock")
            assert json.loads(second.read_text())["shard"] == "1 of 2"
            # The unsharded writer is told about every shard (the folder lock holds no record).
            with pytest.raises(FolderLockedError, match=r"\(shard 0 of 2\); pid .*\(shard 1 of 2\)"):
                with run_lock(folder, what="synthetic set"):
                    pass
            with pytest.raises(FolderLockedError, match=r"shard 1 of 2"):
                with run_lock(folder, what="synthetic set", shard_index=1, num_shards=2):
                    pass
        assert not second.exists() and (folder / LOCK_FILE).exists()  # shard 0 still holds the folder
        with pytest.raises(FolderLockedError, match=r"shard 0 of 2"):
            with run_lock(folder, what="synthetic set"):
                pass
    assert not list(folder.iterdir())  # the last shard removed the folder lock
    with run_lock(folder, what="synthetic set"):
        with pytest.raises(FolderLockedError, match=f"pid {os.getpid()}@"):
            with run_lock(folder, what="synthetic set", shard_index=1, num_shards=2):
                pass
    with pytest.raises(ValueError, match=r"shard_index must be in \[0, 2\), got 2"):
        with run_lock(folder, what="synthetic set", shard_index=2, num_shards=2):
            pass


def test_a_shard_starting_while_the_last_one_removes_the_folder_lock_waits(tmp_path):
    """The last shard holds the folder lock exclusively for an instant; that is no writer."""
    folder = tmp_path / "set"
    folder.mkdir()
    finishing = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(finishing, fcntl.LOCK_EX)
    threading.Timer(0.1, os.close, (finishing,)).start()
    with run_lock(folder, what="synthetic set", shard_index=0, num_shards=2) as path:
        assert path.exists()
