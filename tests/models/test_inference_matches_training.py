"""Inference = training: every path that runs a trained generator computes the image of
the training-mode forward pass (dropout aside), for both normalisations.

A run is trained for a few batch-1 steps on the packaged TNBC crops; the reference is a
copy of its generator without dropout, called with `training=True` one image at a time,
as training called it. Synthesis (files on disk), Table 1 evaluation (files on disk) and
the exported SavedModel must agree with it to within one grey level.
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data import masks as nuclei_masks
from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.data.image_io import read_image
from tf_esgan.data.image_range import to_uint8
from tf_esgan.evaluation.image_quality_table import synthesize_image
from tf_esgan.evaluation.table1_job import EvaluationConfig, evaluate_generator
from tf_esgan.models.inference import generate
from tf_esgan.models.networks import build_networks
from tf_esgan.models.normalization import PerImageInferenceBatchNorm
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.serving import export_generator
from tf_esgan.serving.graph_check import saved_model_op_types
from tf_esgan.synthesis import ID_FORMAT, SynthesisConfig, random_pair, synthesize
from tf_esgan.training.gan_config import TrainConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

from conftest import flat_train_config_json, tiny_train_config

SIZE = 64


def _train(run_dir, norm: str) -> TrainConfig:
    config = tiny_train_config(sample_root(), run_dir, variant="enhanced", steps_per_epoch=6, image_size=SIZE,
                               generator_base_filters=8, norm=norm, dtype_policy="float32", learning_rate=2e-3)
    train_and_evaluate(config, log=lambda message: None)
    return config


def _training_forward(generator, config: TrainConfig):
    """condition -> uint8 image of the training-mode forward pass at batch 1, no dropout."""
    reference, _ = build_networks(config.variant, dataclasses.replace(config.model, dropout_rate=0.0))
    reference.set_weights(generator.get_weights())

    def run(condition):
        condition = np.asarray(condition, np.float32)
        return np.concatenate([reference(condition[i:i + 1], training=True).numpy()
                               for i in range(len(condition))])
    return run


@pytest.fixture(scope="module", params=["instance", "batch"])
def trained(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"inference_{request.param}")
    config = _train(root / "run", request.param)
    generator, kind, _ = load_generator(str(root / "run"), log=lambda message: None)
    return {"root": root, "config": config, "generator": generator, "kind": kind,
            "reference": _training_forward(generator, config)}


def _max_grey_difference(a, b) -> int:
    return int(np.abs(np.asarray(a, int) - np.asarray(b, int)).max())


def test_synthesis_files_equal_training_forward(trained):
    out = trained["root"] / "synthetic"
    synthesize(SynthesisConfig(model=str(trained["root"] / "run"), out_dir=str(out), num_images=3, batch_size=2),
               verbose=0, log=lambda message: None)
    conditions = np.stack([random_pair(i, 0, SIZE, "tnbc", trained["kind"])[1] for i in range(3)])
    expected = to_uint8(trained["reference"](conditions))
    written = np.stack([read_image(out / "images" / f"{ID_FORMAT.format(i)}.png") for i in range(3)])
    assert _max_grey_difference(written, expected) <= 1
    assert written.std() > 2  # a real picture, not a constant


def test_evaluation_images_equal_training_forward(trained):
    out = trained["root"] / "evaluation"
    evaluate_generator(EvaluationConfig(model=str(trained["root"] / "run"), dataset_dir=str(sample_root()),
                                        out_dir=str(out)), log=lambda message: None)
    sample = list_samples(sample_root())[0]
    _, labels = load_pair(sample)
    expected, _ = synthesize_image(labels, lambda c: tf.constant(trained["reference"](c)), trained["kind"], SIZE, 8)
    assert _max_grey_difference(read_image(out / "synthetic" / f"{sample.id}.png"), expected) <= 1


def test_saved_model_equals_training_forward_and_changes_no_variable(trained):
    export_dir = export_generator(trained["generator"], trained["root"] / "export", conditioning=trained["kind"])
    loaded = tf.saved_model.load(str(export_dir))
    before = [v.numpy().copy() for v in loaded.model_variables]
    assert before
    labels = np.stack([nuclei_masks.random_nuclei_labels((SIZE, SIZE), rng=np.random.default_rng(i), preset="tnbc")
                       for i in range(2)]).astype(np.int32)
    conditions = np.stack([random_pair(i, 0, SIZE, "tnbc", trained["kind"])[1] for i in range(2)])
    served = loaded.signatures["serving_default"](skeleton_map=tf.constant(conditions))["image"].numpy()
    from_mask = loaded.signatures["from_mask"](mask=tf.constant(labels))["image"].numpy()
    maps = loaded.signatures["condition_from_mask"](mask=tf.constant(labels))["skeleton_map"].numpy()
    assert _max_grey_difference(served, to_uint8(trained["reference"](conditions))) <= 1
    assert _max_grey_difference(from_mask, to_uint8(trained["reference"](maps))) <= 1
    for old, new in zip(before, loaded.model_variables):
        np.testing.assert_array_equal(old, new.numpy())
    # No inference-mode batch norm (moving statistics) anywhere in the served graph.
    assert not {op for op in saved_model_op_types(export_dir) if op.startswith("FusedBatchNorm")}


def test_batch_norm_moving_statistics_would_have_failed(trained, monkeypatch):
    """The check above can fail: Keras' own inference batch norm is far from training."""
    if trained["config"].model.norm != "batch":
        pytest.skip("moving statistics exist only with batch norm")
    conditions = np.stack([random_pair(i, 0, SIZE, "tnbc", trained["kind"])[1] for i in range(2)])
    expected = to_uint8(trained["reference"](conditions))
    assert _max_grey_difference(to_uint8(generate(trained["generator"], conditions)), expected) <= 1
    monkeypatch.setattr(PerImageInferenceBatchNorm, "call", keras.layers.BatchNormalization.call)
    assert _max_grey_difference(to_uint8(generate(trained["generator"], conditions)), expected) > 10


def test_legacy_run_config_loads_as_batch_norm(trained):
    """config.json files written before `norm` existed meant batch norm, float32, transpose."""
    legacy = {k: v for k, v in flat_train_config_json(trained["config"]).items()
              if k not in ("norm", "dtype_policy", "upsampling", "dropout_rate", "split_seed")}
    config = TrainConfig.from_json_dict(legacy)
    assert (config.model.norm, config.model.dtype_policy, config.model.upsampling) == ("batch", "float32", "transpose")
