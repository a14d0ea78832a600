"""Atomic writes: umask permissions, a full disk named by the final path, leftovers of a killed writer."""

import errno
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tf_esgan.cli.app import USAGE_ERROR_STATUS
from tf_esgan.errors import UserError
from tf_esgan.io_utils import (DiskFullError, atomic_path, atomic_write_bytes, file_mode, folder_mode,
                               process_umask, remove_temporary_leftovers)

REPO = Path(__file__).resolve().parents[1]
WRITE_TOO_MUCH = """
import sys
from tf_esgan.cli.app import call_main
from tf_esgan.io_utils import atomic_write_bytes
sys.exit(call_main("esgan-test", lambda argv: atomic_write_bytes(sys.argv[1], b"x" * 200_000), []))
"""


@pytest.mark.parametrize("umask, expected_file, expected_folder", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_atomic_write_follows_the_umask(tmp_path, umask, expected_file, expected_folder):
    previous = os.umask(umask)
    try:
        assert process_umask() == umask
        assert (file_mode(), folder_mode()) == (expected_file, expected_folder)
        atomic_write_bytes(tmp_path / "new" / "a.bin", b"data")
        with atomic_path(tmp_path / "b.txt") as temporary:
            temporary.write_text("text")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "a.bin").st_mode) == expected_file
    assert stat.S_IMODE(os.stat(tmp_path / "b.txt").st_mode) == expected_file
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == expected_folder


def test_disk_full_names_the_final_path_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "masks" / "a.png"
    atomic_write_bytes(path, b"old")
    with pytest.raises(DiskFullError) as full:
        with atomic_path(path) as temporary:
            temporary.write_bytes(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # what write() raises: no file name
    error = full.value
    assert isinstance(error, OSError) and isinstance(error, UserError) and error.errno == errno.ENOSPC
    assert error.filename == str(path)
    assert str(error).startswith(f"{path}: could not write it: no space left on the device")
    assert path.read_bytes() == b"old" and sorted(p.name for p in path.parent.iterdir()) == ["a.png"]


def test_a_file_size_limit_is_one_error_line_naming_the_file(tmp_path):
    path = tmp_path / "big.bin"

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    result = subprocess.run([sys.executable, "-c", WRITE_TOO_MUCH, str(path)], cwd=REPO, capture_output=True,
                            text=True, timeout=60, preexec_fn=limit_file_size)
    assert result.returncode == USAGE_ERROR_STATUS, result.stderr
    assert result.stderr.splitlines() == [f"esgan-test: error: {path}: could not write it: file too large for "
                                          "the file system or the file-size limit (ulimit -f); the file was "
                                          "left as it was. Free some space (or raise the limit) and rerun"]
    assert not list(tmp_path.iterdir())  # the temporary file is gone too


def test_leftovers_of_a_killed_writer_are_removed(tmp_path):
    (tmp_path / ".a.png.x1y2z3.tmp").write_bytes(b"half")
    (tmp_path / "a.png").write_bytes(b"kept")
    (tmp_path / ".hidden").write_bytes(b"kept")
    (tmp_path / ".dir.tmp").mkdir()  # not a file atomic_path makes
    assert remove_temporary_leftovers(tmp_path) == [tmp_path / ".a.png.x1y2z3.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dir.tmp", ".hidden", "a.png"]
    assert remove_temporary_leftovers(tmp_path / "missing") == []
