"""Table 2's protocol options (issue 20): watershed tuned on real images, a fixed real share
in S*, augmentation for every set, a cross-dataset R, and old runs still resuming."""

import json
import shutil

import pytest

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.segmentation import train as segnet_train
from tf_esgan.segmentation.postprocess import WatershedConfig
from tf_esgan.segmentation.train import SegNetTrainConfig, _samples, train_segnet
from tf_esgan.segmentation.train_config import ADDED_FIELDS, SegNetDataConfig, SegNetTrainerConfig


def _copy(root, name):
    target = root / name
    shutil.copytree(sample_root(), target, ignore=shutil.ignore_patterns("README.md"))
    return target


def _config(real, train_set="R", synthetic="", **data):
    return SegNetTrainConfig(
        data=SegNetDataConfig(train_set=train_set, dataset_dir=str(real), synthetic_dir=str(synthetic),
                              crop_size=64, test_fraction=0.25, **data),
        model=SegNetConfig(base_filters=4, dtype_policy="float32"),
        trainer=SegNetTrainerConfig(epochs=1, steps_per_epoch=1, batch_size=2, tune_images=2))


@pytest.fixture
def tuned_on(monkeypatch):
    """The ids each watershed tuning saw (the tuning itself is skipped: it is not what is tested)."""
    seen = []

    def record(model, samples, count):
        seen.append(sorted(sample.id for sample in samples))
        return WatershedConfig(), 0.0

    monkeypatch.setattr(segnet_train, "_tune", record)
    return seen


def test_s_is_tuned_on_real_training_images_unless_asked_otherwise(tmp_path, tuned_on):
    real, synthetic = _copy(tmp_path, "real"), _copy(tmp_path, "synthetic")
    for name in ("images", "masks"):  # synthetic ids, as esgan-synthesize names them
        for index, path in enumerate(sorted((synthetic / name).glob("*.png"))):
            path.rename(path.with_name(f"synthetic_{index:06d}.png"))
    real_train = sorted(sample.id for sample in _samples(_config(real)).real_train)
    train_segnet(_config(real, "S", synthetic), tmp_path / "s_real", verbose=0)
    assert tuned_on[-1] == real_train
    config = _config(real, "S", synthetic)
    old_way = SegNetTrainConfig(data=config.data, model=config.model,
                                trainer=SegNetTrainerConfig(epochs=1, steps_per_epoch=1, batch_size=2, tune_images=2,
                                                            tune_on="training"))
    train_segnet(old_way, tmp_path / "s_training", verbose=0)
    assert tuned_on[-1] == [f"synthetic_{index:06d}" for index in range(4)]


def test_cross_dataset_r_trains_on_the_other_folder_and_holds_out_this_ones_slides(tmp_path):
    real, other = _copy(tmp_path, "real"), _copy(tmp_path, "other")
    for name in ("images", "masks"):
        for path in sorted((other / name).glob("*.png")):
            path.rename(path.with_name(f"cpm_{path.name}"))
    training = _samples(_config(real, real_train_dir=str(other)))
    assert sorted(sample.id for sample in training.samples) == sorted(f"cpm_{s.id}" for s in list_samples(sample_root()))
    assert training.real_count == 4


def test_s_star_real_share_and_augmentation_choices_are_checked():
    with pytest.raises(ValueError, match="real_fraction"):
        SegNetDataConfig(train_set="R", dataset_dir="d", real_fraction=0.5)
    with pytest.raises(ValueError, match="augmentation"):
        SegNetDataConfig(train_set="R", dataset_dir="d", augmentation="yes")
    with pytest.raises(ValueError, match="tune_on"):
        SegNetTrainerConfig(tune_on="synthetic")
    assert SegNetDataConfig(train_set="S*", dataset_dir="d", synthetic_dir="s", real_fraction=0.5).real_fraction == 0.5


def test_s_star_with_a_real_share_trains(tmp_path, tuned_on):
    real, synthetic = _copy(tmp_path, "real"), _copy(tmp_path, "synthetic")
    config = _config(real, "S*", synthetic, real_fraction=0.5, augmentation="off")
    training = _samples(config)
    assert training.real_count == 3 and len(training.samples) == 7 and not training.augment
    assert train_segnet(config, tmp_path / "run", verbose=0).is_file()


def test_a_run_written_before_the_new_fields_still_resumes(tmp_path, tuned_on):
    real = _copy(tmp_path, "real")
    folder = tmp_path / "run"
    train_segnet(_config(real), folder, verbose=0)
    written = json.loads((folder / "config.json").read_text())
    for section, name in ADDED_FIELDS:
        del written[section][name]
    (folder / "config.json").write_text(json.dumps(written))
    # Same flags as then (tune_on may differ: it only decides the tuning after the last step).
    train_segnet(_config(real), folder, verbose=0)
    resumed = json.loads((folder / "config.json").read_text())
    assert resumed["data"]["real_fraction"] == 0.0 and resumed["data"]["augmentation"] == "auto"


def test_lr_halving_steps_halves_the_rate_each_step_applies_also_across_a_resume(tmp_path, tuned_on):
    import dataclasses

    import tensorflow as tf

    real = _copy(tmp_path, "real")
    base = _config(real)
    folder = tmp_path / "run"

    def config(epochs):
        return dataclasses.replace(base, trainer=dataclasses.replace(
            base.trainer, epochs=epochs, steps_per_epoch=3, lr_halving_steps=2))

    train_segnet(config(1), folder, verbose=0)
    train_segnet(config(2), folder, verbose=0)  # extended: the schedule counts optimizer steps, not epochs
    rates = {}
    for path in (folder / "logs").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "learning_rate/segnet":
                    rates[event.step] = float(tf.make_ndarray(value.tensor))
    # step k (1-based) applies 1e-3 * 0.5 ** floor((k - 1) / 2)
    assert [rates[k] for k in range(1, 7)] == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4])
    assert json.loads((folder / "config.json").read_text())["trainer"]["lr_halving_steps"] == 2
    with pytest.raises(ValueError, match="lr_halving_steps"):
        SegNetTrainerConfig(lr_halving_steps=-1)
