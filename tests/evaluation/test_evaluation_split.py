"""esgan-evaluate --split=test scores exactly the slides the model's training run held out.

The bug this guards (issue 19): the evaluation split with its own default test fraction
(0.3) while the GAN held out 0.1 of the slides, so "test" scores included training
images without a word.
"""

import shutil

import cv2
import pytest

from tf_esgan.data.datasets import DEFAULT_TEST_FRACTION, list_samples, sample_root, split_samples_by_group
from tf_esgan.errors import ConfigError
from tf_esgan.evaluation.table1_job import EvaluationConfig, _split_samples, evaluate_generator, training_split
from tf_esgan.reproduce.pipeline import ReproduceConfig
from tf_esgan.segmentation.train_config import SegNetDataConfig
from tf_esgan.training.gan_config import GanDataConfig
from tf_esgan.training.gan_trainer import _split, train_and_evaluate

from conftest import tiny_train_config


def _ten_one_image_slides(root):
    """Ten 64x64 pairs cut from the sample, ids that are each their own slide."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    samples = list_samples(sample_root())
    for index in range(10):
        sample = samples[index % len(samples)]
        y, x = 64 * (index // 4), 64 * (index % 4)
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_UNCHANGED)[y:y + 64, x:x + 64]
        mask = cv2.imread(str(sample.mask_path), cv2.IMREAD_UNCHANGED)[y:y + 64, x:x + 64]
        cv2.imwrite(str(root / "images" / f"tile{index:02d}.png"), image)
        cv2.imwrite(str(root / "masks" / f"tile{index:02d}.png"), mask)
    return root


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny GAN run on ten one-image slides holding out 0.1 of them (1 slide)."""
    root = tmp_path_factory.mktemp("split")
    data = _ten_one_image_slides(root / "data")
    config = tiny_train_config(data, root / "gan", test_fraction=0.1)  # TINY_GAN's sizes, one step
    train_and_evaluate(config, log=lambda message: None)
    return config


def _ids(samples):
    return [sample.id for sample in samples]


def test_test_split_is_the_runs_held_out_slides(trained_run, tmp_path):
    _, held_out = _split(trained_run)
    assert len(held_out) == 1  # 0.1 of ten slides; the old default 0.3 scored 3, two trained on
    config = EvaluationConfig(model=trained_run.runtime.model_dir, split="test", out_dir=str(tmp_path / "eval"))
    dataset_dir, samples = _split_samples(config)
    assert dataset_dir == trained_run.data.dataset_dir and _ids(samples) == _ids(held_out)
    result = evaluate_generator(config, log=lambda message: None)
    assert sorted({tile.sample_id for tile in result.tiles}) == _ids(held_out)
    train = EvaluationConfig(model=trained_run.runtime.model_dir, split="train", out_dir=str(tmp_path / "t"))
    assert _ids(_split_samples(train)[1]) == _ids(_split(trained_run)[0])


@pytest.mark.parametrize("flag, value", [("test_fraction", 0.3), ("seed", 1)])
def test_a_flag_contradicting_the_runs_split_is_refused_in_one_line(trained_run, tmp_path, flag, value):
    config = EvaluationConfig(model=trained_run.runtime.model_dir, split="test", out_dir=str(tmp_path),
                              **{flag: value})
    with pytest.raises(ConfigError, match=f"--{flag}={value} contradicts") as error:
        evaluate_generator(config, log=lambda message: None)
    assert "\n" not in str(error.value) and not (tmp_path / "synthetic").exists()


def test_the_runs_own_values_given_explicitly_are_accepted(trained_run, tmp_path):
    config = EvaluationConfig(model=trained_run.runtime.model_dir, split="test", out_dir=str(tmp_path),
                              test_fraction=0.1, seed=trained_run.data_split_seed)
    assert _ids(_split_samples(config)[1]) == _ids(_split(trained_run)[1])


def test_a_keras_file_needs_the_split_spelled_out(tmp_path):
    keras_file = tmp_path / "g.keras"
    keras_file.write_bytes(b"")  # only its existence matters before the split is chosen
    config = EvaluationConfig(model=str(keras_file), dataset_dir=str(sample_root()), split="test",
                              out_dir=str(tmp_path / "eval"), conditioning="skeleton")
    with pytest.raises(ConfigError, match="records no training split; pass --test_fraction and --seed"):
        _split_samples(config)
    spelled = EvaluationConfig(model=str(keras_file), dataset_dir=str(sample_root()), split="test",
                               out_dir=str(tmp_path / "eval"), test_fraction=0.25, seed=3)
    expected = split_samples_by_group(list_samples(sample_root()), test_fraction=0.25, seed=3)[1]
    assert _ids(_split_samples(spelled)[1]) == _ids(expected)


def test_split_flags_with_split_all_are_refused():
    with pytest.raises(ConfigError, match="--split=all scores the whole"):
        EvaluationConfig(model="m", dataset_dir="d", out_dir="o", test_fraction=0.3)
    with pytest.raises(ConfigError, match="--dataset_dir is required with --split=all"):
        EvaluationConfig(model="m", out_dir="o")


def test_a_moved_dataset_is_named(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run.runtime.model_dir, run)
    config_file = run / "config.json"
    config_file.write_text(config_file.read_text().replace(trained_run.data.dataset_dir, str(tmp_path / "gone")))
    with pytest.raises(Exception, match="does not exist .*--dataset_dir"):
        _split_samples(EvaluationConfig(model=str(run), split="test", out_dir=str(tmp_path / "e")))


def test_pretrained_model_scores_the_slides_its_record_held_out(datasets_dir, tmp_path):
    recorded = training_split("pretrained:tnbc")
    assert (recorded.test_fraction, recorded.seed) == (0.3, 0)
    config = EvaluationConfig(model="pretrained:tnbc", dataset_dir=str(datasets_dir / "tnbc"), split="test",
                              out_dir=str(tmp_path))
    slides = {sample.id.split("_")[0] for sample in _split_samples(config)[1]}
    assert slides == {"01", "02"}  # what the model card says it never saw


def test_one_default_split_for_every_job(datasets_dir):
    fractions = {GanDataConfig(dataset_dir="d").test_fraction, SegNetDataConfig(dataset_dir="d").test_fraction,
                 ReproduceConfig(dataset="tnbc", out_dir="o").test_fraction}
    assert fractions == {DEFAULT_TEST_FRACTION}
    # With one fraction and seed, the GAN, SegNet and the reproduction hold out the same slides.
    held_out = split_samples_by_group(list_samples(datasets_dir / "tnbc"), test_fraction=DEFAULT_TEST_FRACTION,
                                      seed=0)[1]
    assert sorted({sample.id.split("_")[0] for sample in held_out}) == ["01", "02"]
