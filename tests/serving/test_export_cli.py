"""esgan-export: from a training run folder and from `.keras` files."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver

from tf_esgan.cli import export as cli
from tf_esgan.cli.app import USAGE_ERROR_STATUS, call_main
from tf_esgan.models.networks import build_networks
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.runs.run_dir import prepare_run_dir
from tf_esgan.training.checkpoints import CHECKPOINT_DIR, RunCheckpoints

from conftest import tiny_train_config


@pytest.fixture(autouse=True)
def parsed_flags():
    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["esgan-export", "--model=x", "--out_dir=x"])
    yield


def _run(capsys, **values):
    with flagsaver.flagsaver(**values):
        status = call_main("esgan-export", cli.main, ["esgan-export"])
    return status, capsys.readouterr()


def test_exports_newest_checkpoint_of_a_run(tmp_path, capsys):
    config = tiny_train_config("unused", tmp_path / "run", variant="sharp_gan",
                               generator_base_filters=2, discriminator_base_filters=2)
    prepare_run_dir(config.runtime.model_dir, config)
    keras.utils.set_random_seed(3)
    generator, discriminator = build_networks(config.variant, config.model)
    checkpoints = RunCheckpoints(tf.train.Checkpoint(generator=generator, discriminator=discriminator),
                                 read_dir=tmp_path / "run" / CHECKPOINT_DIR,
                                 write_dir=tmp_path / "run" / CHECKPOINT_DIR, keep=2)
    checkpoints.save(1)
    condition = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 1)).astype(np.float32)
    expected = generator(condition, training=False).numpy()
    for variable in generator.variables:  # the export must not see these weights
        variable.assign(tf.zeros_like(variable))

    status, output = _run(capsys, model=config.runtime.model_dir, out_dir=str(tmp_path / "serving"))
    assert status == 0 and output.out.strip() == str(tmp_path / "serving" / "esgan_generator" / "1")
    loaded = tf.saved_model.load(output.out.strip())
    image = loaded.signatures["serving_default"](skeleton_map=tf.constant(condition))["image"].numpy()
    assert np.abs(image.astype(int) - np.round((expected + 1) * 127.5)).max() <= 1
    assert "restored from" in output.err and "variant sharp_gan" in output.err

    status, output = _run(capsys, model=config.runtime.model_dir, out_dir=str(tmp_path / "serving"),
                          version=1)
    assert status == USAGE_ERROR_STATUS and "already exported" in output.err


def test_keras_files(tmp_path, capsys):
    segnet = build_segnet(SegNetConfig(base_filters=2))
    segnet.save(tmp_path / "segnet.keras")
    status, output = _run(capsys, kind="segnet", model=str(tmp_path / "segnet.keras"),
                          out_dir=str(tmp_path / "serving"), model_name="nuclei", version=7)
    assert status == 0 and output.out.strip().endswith("nuclei/7")
    images = np.random.default_rng(1).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    served = tf.saved_model.load(output.out.strip()).signatures["serving_default"](image=tf.constant(images))
    np.testing.assert_allclose(served["distance"].numpy(), segnet(images).numpy()[..., 1], atol=1e-5)

    status, output = _run(capsys, model=str(tmp_path / "missing.keras"), variant="enhanced",
                          out_dir=str(tmp_path))
    assert status == USAGE_ERROR_STATUS and "missing.keras: expected an existing `.keras` file" in output.err


def test_pretrained_generator_and_segnet(pretrained_env, tmp_path, capsys):
    from tf_esgan.models.inference import generate
    from tf_esgan.pretrained import load_generator, load_segnet

    status, output = _run(capsys, model="pretrained:tiny", out_dir=str(tmp_path / "serving"))
    assert status == 0 and output.out.strip() == str(tmp_path / "serving" / "esgan_generator" / "1")
    assert "generator: pretrained 'tiny' (skeleton conditioning)" in output.err
    condition = np.random.default_rng(0).uniform(0, 2, (1, 32, 32, 1)).astype(np.float32)
    served = tf.saved_model.load(output.out.strip()).signatures["serving_default"](skeleton_map=tf.constant(condition))
    expected = np.round((generate(load_generator("tiny")[0], condition).numpy() + 1) * 127.5)
    assert np.abs(served["image"].numpy().astype(int) - expected).max() <= 1

    status, output = _run(capsys, kind="segnet", model="pretrained:tiny", out_dir=str(tmp_path / "serving"))
    assert status == 0 and output.out.strip().endswith("segnet/1")
    images = np.random.default_rng(1).integers(0, 256, (1, 64, 32, 3), dtype=np.uint8)
    served = tf.saved_model.load(output.out.strip()).signatures["serving_default"](image=tf.constant(images))
    np.testing.assert_allclose(served["nucleus_probability"].numpy(), load_segnet("tiny")[0](images).numpy()[..., 0],
                               atol=1e-5)

    status, output = _run(capsys, model="pretrained:tiny", variant="sharp_gan", out_dir=str(tmp_path / "s"))
    assert status == USAGE_ERROR_STATUS and "--variant=sharp_gan disagrees with pretrained:tiny" in output.err
    status, output = _run(capsys, kind="segnet", model="pretrained:nope", out_dir=str(tmp_path / "s"))
    assert status == USAGE_ERROR_STATUS and "no pretrained segnet named 'nope'; available: pretrained:tiny" in output.err


def test_old_flag_spelling_still_works_with_a_deprecation_line(tmp_path, capsys):
    from tf_esgan.cli import app

    argv = ["esgan-export", "--model=x", f"--export_base={tmp_path / 'old'}"]
    try:
        assert app._parse_flags("esgan-export", False, argv) == ["esgan-export"]
        assert flags.FLAGS.out_dir == str(tmp_path / "old")
        assert capsys.readouterr().err == ("esgan-export: --export_base is deprecated and will be removed in the "
                                           "next release; use --out_dir\n")
    finally:
        flags.FLAGS(["esgan-export", "--model=x", "--out_dir=x"])
        flags.FLAGS["export_base"].present = 0
