"""A failed (disk full) or killed checkpoint save leaves no temporaries behind; modes follow the umask."""

import os
import resource
import signal
import stat

import pytest
import tensorflow as tf

from tf_esgan.training.checkpoints import CheckpointError, RunCheckpoints

LIMIT_BYTES = 100_000


def _checkpoints(directory):
    variable = tf.Variable(tf.zeros([50_000]))  # 200 kB: above LIMIT_BYTES
    return RunCheckpoints(tf.train.Checkpoint(weights=variable), read_dir=directory, write_dir=directory, keep=2)


def test_disk_full_save_leaves_no_temporary_folder(tmp_path):
    directory = tmp_path / "checkpoints"
    checkpoints = _checkpoints(directory)
    checkpoints.save(1)
    before = sorted(path.name for path in directory.iterdir())
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, hard))  # every large write fails (EFBIG)
    try:
        with pytest.raises(CheckpointError, match="could not write the checkpoint of step 2.*ckpt-1 is intact"):
            checkpoints.save(2)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert sorted(path.name for path in directory.iterdir()) == before  # no ckpt-2_temp/
    assert tf.train.latest_checkpoint(str(directory)).endswith("ckpt-1")


def test_leftovers_of_a_killed_save_are_removed_at_the_next_run(tmp_path):
    directory = tmp_path / "checkpoints"
    _checkpoints(directory).save(1)
    kept = sorted(path.name for path in directory.iterdir())
    (directory / "ckpt-2_temp").mkdir()
    (directory / "ckpt-2_temp" / "part-00000-of-00001.data-00000-of-00001.tempstate123").write_bytes(b"half")
    (directory / "ckpt-2.data-00000-of-00001.tempstate456").write_bytes(b"half")
    (directory / "checkpoint.tmp0123abcd").write_text("half")
    checkpoints = _checkpoints(directory)
    assert sorted(path.name for path in directory.iterdir()) == kept
    assert checkpoints.restore_latest(log=lambda message: None).endswith("ckpt-1")


@pytest.mark.parametrize("umask, expected_file, expected_folder", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_checkpoint_files_follow_the_umask(tmp_path, umask, expected_file, expected_folder):
    previous = os.umask(umask)
    try:
        _checkpoints(tmp_path / "checkpoints").save(1)
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(os.stat(path).st_mode) for path in [tmp_path / "checkpoints",
                                                                         *(tmp_path / "checkpoints").iterdir()]}
    assert modes == {name: expected_folder if name == "checkpoints" else expected_file for name in modes}
    assert len(modes) == 4  # folder, state file, index, data
