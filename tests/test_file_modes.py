"""What the tools write follows the umask like any ordinary tool: 0644/0755 under 022, 0600/0700 under 077.

(Atomic writes and checkpoints: tests/test_io_utils.py, tests/training/test_checkpoint_leftovers.py.)
"""

import os
import stat

import pytest

from tf_esgan import synthesis
from tf_esgan.serving import export_generator

from conftest import tiny_generator

UMASKS = [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]


@pytest.fixture(scope="module")
def generator():
    return tiny_generator(seed=0, image_size=32, filters=2)


def modes(root):
    """Relative path -> permission bits of `root` and everything under it."""
    return {os.path.relpath(path, root): stat.S_IMODE(os.lstat(path).st_mode)
            for path in [root, *root.rglob("*")]}


def expected(tree, file_mode, folder_mode):
    return {name: folder_mode if (tree / name).is_dir() else file_mode for name in modes(tree)}


@pytest.mark.parametrize("umask, file_mode, folder_mode", UMASKS)
def test_synthesized_set_and_exported_model(generator, tmp_path, umask, file_mode, folder_mode):
    previous = os.umask(umask)
    try:
        config = synthesis.SynthesisConfig(model="in-memory", out_dir=str(tmp_path / "set"), num_images=2,
                                           batch_size=2, conditioning="skeleton")
        synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)
        version = export_generator(generator, tmp_path / "serving", conditioning="skeleton")
    finally:
        os.umask(previous)
    written = modes(tmp_path / "set")
    assert {"images/synthetic_000001.png", "masks/synthetic_000001.png", "config.json",
            "synthetic_pairs.png"} <= set(written)
    assert written == expected(tmp_path / "set", file_mode, folder_mode)
    exported = modes(tmp_path / "serving")
    assert {"esgan_generator/1", "esgan_generator/1/saved_model.pb", "esgan_generator/1/variables",
            "esgan_generator/1/assets.extra/esgan_export.json"} <= set(exported)
    assert exported == expected(tmp_path / "serving", file_mode, folder_mode)
    assert version == tmp_path / "serving" / "esgan_generator" / "1"
