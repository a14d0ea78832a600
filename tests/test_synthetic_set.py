"""A synthetic set is extended only by the weights that made it, never written into a real dataset."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.synthesis import job as synthesis, synthetic_set
from tf_esgan.data.image_io import write_image, write_mask
from tf_esgan.data.pair_formats import PAIR_FORMATS, list_pair_names, read_pair
from tf_esgan.models.networks import build_networks
from tf_esgan.run_lock import FolderLockedError, run_lock
from tf_esgan.runs.run_dir import ConfigMismatchError, prepare_run_dir
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, RunCheckpoints
from tf_esgan.viz.synthetic_pairs import FIGURE_DIR, FIGURE_NAME

from conftest import tiny_train_config

SIZE = 32
IDS = [f"synthetic_{index:06d}" for index in range(8)]


class Run:
    """An esgan-train run folder with a tiny generator; `train()` saves new weights as a new step."""

    def __init__(self, folder):
        config = tiny_train_config("unused", folder, variant="enhanced", image_size=SIZE,
                                   generator_base_filters=2, discriminator_base_filters=2)
        prepare_run_dir(folder, config)
        keras.utils.set_random_seed(3)
        self.folder = folder
        self.generator, discriminator = build_networks(config.variant, config.model)
        self.step = tf.Variable(0, dtype=tf.int64)
        self.checkpoints = RunCheckpoints(
            tf.train.Checkpoint(generator=self.generator, discriminator=discriminator, step=self.step),
            read_dir=folder / CHECKPOINT_DIR, write_dir=folder / CHECKPOINT_DIR, keep=2)
        self.train()

    def train(self):
        self.step.assign_add(1)
        for variable in self.generator.trainable_variables:  # stands in for an optimizer step
            variable.assign(variable + 0.01)
        self.checkpoints.save(int(self.step.numpy()))


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path / "run")


def synthesize(model, out_dir, count, **kwargs):
    config = synthesis.SynthesisConfig(model=str(model), out_dir=str(out_dir), num_images=count, batch_size=4,
                                       **kwargs)
    return synthesis.synthesize(config, verbose=0, log=lambda message: None)


def recorded_weights(out_dir):
    return json.loads((out_dir / "config.json").read_text())[synthetic_set.WEIGHTS_KEY]


def test_other_weights_are_refused_naming_both_and_overwrite_starts_over(run, tmp_path):
    out = tmp_path / "set"
    assert synthesize(run.folder, out, 4)["written"] == 4
    first = recorded_weights(out)
    assert first == {"model": str(run.folder.resolve()), "checkpoint_step": 1,
                     "sha256": synthetic_set.weights_sha256(run.generator)}
    old_image = read_pair(out, "canonical", IDS[0])[0]
    run.train()  # the run trained on: step 2, other weights
    new_hash = synthetic_set.weights_sha256(run.generator)
    with pytest.raises(ConfigMismatchError) as refused:
        synthesize(run.folder, out, 8)
    message = str(refused.value)
    assert f"checkpoint step 1, weights sha256 {first['sha256'][:16]}" in message
    assert f"checkpoint step 2, weights sha256 {new_hash[:16]}" in message
    assert "--overwrite" in message and "--out_dir" in message
    assert list_pair_names(out, "canonical") == IDS[:4] and recorded_weights(out) == first  # untouched

    rewritten = synthesize(run.folder, out, 6, overwrite=True)
    assert (rewritten["written"], rewritten["skipped"]) == (6, 0)
    assert synthesize(run.folder, out, 6)["written"] == 0  # the new weights' set resumes as usual
    assert list_pair_names(out, "canonical") == IDS[:6]
    assert recorded_weights(out) == {**first, "checkpoint_step": 2, "sha256": new_hash}
    assert not np.array_equal(read_pair(out, "canonical", IDS[0])[0], old_image)  # rewritten by the new weights


def test_the_same_weights_by_another_path_extend_the_set(run, tmp_path, monkeypatch):
    out = tmp_path / "set"
    synthesize(run.folder, out, 4)
    link = tmp_path / "link"
    os.symlink(run.folder, link)
    assert synthesize(link, out, 6)["written"] == 2
    monkeypatch.chdir(tmp_path)
    assert synthesize("run", "set", 8)["written"] == 2  # relative paths
    assert recorded_weights(out)["model"] == str(run.folder.resolve())
    assert list_pair_names(out, "canonical") == IDS


def test_a_real_dataset_is_refused_and_left_alone(run, tmp_path):
    real = tmp_path / "real"
    write_image(real / "images" / "slide1.png", np.zeros((SIZE, SIZE, 3), np.uint8))
    write_mask(real / "masks" / "slide1.png", np.zeros((SIZE, SIZE), np.int32))
    before = sorted(path.relative_to(real) for path in real.rglob("*"))
    for overwrite in (False, True):
        with pytest.raises(synthetic_set.NotASyntheticSetError, match=rf"{real}: holds .*slide1.png.*real dataset"):
            synthesize(run.folder, real, 4, overwrite=overwrite)
    assert sorted(path.relative_to(real) for path in real.rglob("*")) == before

    unrecorded = tmp_path / "unrecorded"  # pairs named like ours, but no synthesis config.json
    write_image(unrecorded / "images" / "synthetic_000000.png", np.zeros((SIZE, SIZE, 3), np.uint8))
    with pytest.raises(synthetic_set.NotASyntheticSetError, match="no config.json of esgan-synthesize"):
        synthesize(run.folder, unrecorded, 4)
    cellpose = tmp_path / "cellpose"  # another format's labels count too
    cellpose.mkdir()
    (cellpose / "cells_masks.tif").write_bytes(b"II*\0")
    with pytest.raises(synthetic_set.NotASyntheticSetError, match="cells_masks.tif"):
        synthesize(run.folder, cellpose, 4)
    with pytest.raises(synthetic_set.NotASyntheticSetError, match="not the config of a synthetic set"):
        synthesize(run.folder, run.folder, 4)  # a training run folder


def test_leftovers_of_a_killed_writer_are_removed_and_a_second_writer_refused(run, tmp_path):
    out = tmp_path / "set"
    synthesize(run.folder, out, 4)
    (out / "images" / ".synthetic_000004.png.k2j3h4.tmp").write_bytes(b"half")
    (out / ".config.json.a1b2c3.tmp").write_text("{")
    assert synthesize(run.folder, out, 5)["written"] == 1
    assert not list(out.rglob(".*"))
    with run_lock(out, what="synthetic set"):
        with pytest.raises(FolderLockedError, match=f"pid {os.getpid()}@"):
            synthesize(run.folder, out, 6)


@pytest.mark.parametrize("format", [name for name in PAIR_FORMATS if name != "canonical"])
def test_formats(run, tmp_path, format):
    out = tmp_path / format
    summary = synthesize(run.folder, out, 3, format=format)
    assert summary["written"] == 3 and list_pair_names(out, format) == IDS[:3]
    for index in range(3):
        labels = synthesis.random_pair(index, 0, SIZE, "tnbc", "skeleton")[0]
        np.testing.assert_array_equal(read_pair(out, format, IDS[index])[1], labels)
    # Cellpose reads every image of the set's folder: the figure goes into figures/.
    figure = out / FIGURE_DIR / FIGURE_NAME if format == "cellpose" else out / FIGURE_NAME
    assert summary["figure"] == str(figure) and figure.is_file()
    assert synthesize(run.folder, out, 4, format=format)["written"] == 1
    with pytest.raises(ConfigMismatchError, match=f"format: '{format}' in the run, 'canonical' requested"):
        synthesize(run.folder, out, 4)
    assert synthesize(run.folder, out, 2, overwrite=True)["written"] == 2  # canonical now; old files gone
    assert list_pair_names(out, format) == [] and list_pair_names(out, "canonical") == IDS[:2]
