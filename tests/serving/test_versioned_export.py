"""Atomic, versioned TF Serving layout: failures leave nothing, versions are never clobbered."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.serving import VersionExistsError, export_generator
from tf_esgan.serving.servable import ServingModule, write_servable
from tf_esgan.serving.versioned_dir import existing_versions, resolve_version


def _tiny_module(python_op: bool = False) -> ServingModule:
    return _tiny_module_and_model(python_op)[0]


def _tiny_module_and_model(python_op: bool = False):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    module = ServingModule(model)

    def serve(x):
        y = module.call_model(x)
        if python_op:
            y = tf.numpy_function(lambda v: v, [y], tf.float32, stateful=False)
        return {"y": y}

    module.add_signature("serving_default", serve, [tf.TensorSpec([None, 3], tf.float32, name="x")])
    return module, model


def _written(root, name="m"):
    folder = root / name
    return sorted(entry.name for entry in folder.iterdir()) if folder.exists() else []


def test_versions_count_up_and_serve_the_right_weights(tmp_path):
    module, model = _tiny_module_and_model()
    first = write_servable(module, tmp_path, model_name="m", version=None, overwrite=False, info={})
    second = write_servable(module, tmp_path, model_name="m", version=None, overwrite=False, info={})
    assert (first.name, second.name) == ("1", "2")
    assert existing_versions(tmp_path / "m") == [1, 2] and _written(tmp_path) == ["1", "2"]
    x = np.array([[1.0, -2.0, 0.5]], np.float32)
    loaded = tf.saved_model.load(str(second)).signatures["serving_default"]
    np.testing.assert_allclose(loaded(x=tf.constant(x))["y"].numpy(), model(x).numpy(), rtol=1e-6)
    assert json.loads((second / "assets.extra" / "esgan_export.json").read_text())["version"] == 2


def test_same_version_twice_is_refused_and_old_one_kept(tmp_path):
    module = _tiny_module()
    path = write_servable(module, tmp_path, model_name="m", version=5, overwrite=False, info={"n": 1})
    before = (path / "saved_model.pb").read_bytes()
    with pytest.raises(VersionExistsError, match="version 5 is already exported"):
        write_servable(module, tmp_path, model_name="m", version=5, overwrite=False, info={"n": 2})
    assert (path / "saved_model.pb").read_bytes() == before and _written(tmp_path) == ["5"]
    write_servable(module, tmp_path, model_name="m", version=5, overwrite=True, info={"n": 2})
    assert json.loads((path / "assets.extra" / "esgan_export.json").read_text())["n"] == 2
    assert _written(tmp_path) == ["5"]  # the retired copy is gone too


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_mid_export_leaves_no_version_directory(tmp_path, monkeypatch, error):
    real_save = tf.saved_model.save

    def save_then_fail(obj, export_dir, **kwargs):
        real_save(obj, export_dir, **kwargs)  # the files are really there, then the crash
        assert tf.io.gfile.exists(f"{export_dir}/saved_model.pb")
        raise error

    monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
    with pytest.raises(type(error)):
        write_servable(_tiny_module(), tmp_path, model_name="m", version=1, overwrite=False, info={})
    assert _written(tmp_path) == []  # neither "1" nor the hidden work directory


def test_graph_calling_python_is_refused_and_nothing_written(tmp_path):
    with pytest.raises(RuntimeError, match="PyFunc"):
        write_servable(_tiny_module(python_op=True), tmp_path, model_name="m", version=1,
                       overwrite=False, info={})
    assert _written(tmp_path) == []


def test_generator_export_refuses_existing_version_before_tracing(tmp_path):
    (tmp_path / "esgan_generator" / "4").mkdir(parents=True)
    generator, _ = build_networks("pix2pix", NetworkConfig(
        image_size=32, generator_base_filters=2, generator_depth=5, discriminator_base_filters=2))
    with pytest.raises(VersionExistsError, match="esgan_generator/4"):
        export_generator(generator, tmp_path, conditioning="binary", version=4)
    with pytest.raises(ValueError, match="conditioning"):
        export_generator(generator, tmp_path, conditioning="skeletons", version=5)


@pytest.mark.parametrize("version", [-1, 1.5, "2", True])
def test_bad_versions_are_rejected(tmp_path, version):
    with pytest.raises(ValueError, match="version"):
        resolve_version(tmp_path, version)
