"""Pretrained storage: float16 conversion, registry lookup, checksums and their errors."""

import json
import shutil

import numpy as np
import pytest

from tf_esgan.pretrained import registry
from tf_esgan.pretrained.loading import load_generator, load_segnet
from tf_esgan.pretrained.registry import PretrainedModelError, available, open_model
from tf_esgan.pretrained.weights import load_weights, save_weights, to_storage


def test_to_storage_rounds_floats_to_float16_and_keeps_integers(tmp_path):
    weights = [np.array([1.0, 1 / 3, -2.5e-3], np.float32), np.array([7, 8], np.int64)]
    stored = to_storage(weights, "test")
    assert stored[0].dtype == np.float16 and stored[1].dtype == np.int64
    # float16 keeps 11 significant bits: 1/3 -> 1365 * 2**-12, 2.5e-3 = 1310.72 * 2**-19 -> 1311 * 2**-19
    np.testing.assert_array_equal(stored[0].astype(np.float64), [1.0, 1365 * 2**-12, -1311 * 2**-19])
    save_weights(tmp_path / "w.npz", stored)
    loaded = load_weights(tmp_path / "w.npz")
    assert [a.dtype for a in loaded] == [np.float16, np.int64]
    np.testing.assert_array_equal(loaded[0], stored[0])
    np.testing.assert_array_equal(loaded[1], [7, 8])
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    with pytest.raises(ValueError, match=r"test: weight 0 \(2,\) has values beyond float16's range"):
        to_storage([np.array([1.0, 7e4], np.float32)], "test")
    np.testing.assert_array_equal(to_storage([np.array([7e4], np.float32)], "t", "float32")[0], [7e4])


def test_names_and_reference_prefix():
    assert registry.pretrained_name("pretrained:tnbc") == "tnbc"
    assert registry.pretrained_name("runs/tnbc") is None
    assert registry.file_names("segnet", "tnbc") == {"weights": "tnbc_segnet.npz", "record": "tnbc_segnet.json"}
    for bad in ("TNBC", "../x", "", "a b"):
        with pytest.raises(PretrainedModelError, match="lowercase letters"):
            registry.check_name(bad)


def test_available_lists_names_by_kind(tiny_pretrained, tmp_path):
    assert available(tiny_pretrained["directory"]) == {"generator": ["tiny"], "segnet": ["tiny"]}
    assert available(tmp_path) == {"generator": [], "segnet": []}  # a folder without registry.json
    entry = json.loads((tiny_pretrained["directory"] / "registry.json").read_text())["models"]["segnet"]["tiny"]
    assert entry["files"] == {"weights": "tiny_segnet.npz", "record": "tiny_segnet.json"}
    assert entry["sha256"]["weights"] == registry.sha256_of(tiny_pretrained["directory"] / "tiny_segnet.npz")


def test_shipped_registry_is_readable():
    names = available()  # the package's own folder (empty until the lead packages models)
    assert set(names) == {"generator", "segnet"}


def test_unknown_name_lists_the_available_ones(tiny_pretrained, tmp_path):
    with pytest.raises(PretrainedModelError, match=r"no pretrained generator named 'tnbc'; available: pretrained:tiny"):
        load_generator("tnbc", directory=tiny_pretrained["directory"])
    with pytest.raises(ValueError, match=r"none is installed in .*package_pretrained"):
        load_segnet("tnbc", directory=tmp_path)


@pytest.mark.parametrize("suffix", ["npz", "json"])
def test_a_flipped_byte_names_the_damaged_file(tiny_pretrained, tmp_path, suffix):
    copy = tmp_path / "models"
    shutil.copytree(tiny_pretrained["directory"], copy)
    damaged = copy / f"tiny_generator.{suffix}"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(PretrainedModelError, match=rf"{damaged}: damaged file of pretrained generator 'tiny' "
                                                   r"\(sha256 [0-9a-f]{64}.*reinstall tf-esgan"):
        load_generator("tiny", directory=copy)
    load_segnet("tiny", directory=copy)  # the other model is intact
    damaged.unlink()
    with pytest.raises(PretrainedModelError, match=rf"{damaged}: missing file.*reinstall"):
        open_model("generator", "tiny", copy)


def test_damaged_registry_is_named(tmp_path):
    (tmp_path / "registry.json").write_text("{not json")
    with pytest.raises(PretrainedModelError, match=rf"{tmp_path / 'registry.json'}: not a readable registry"):
        available(tmp_path)


def test_int8_storage_is_per_channel_symmetric_and_loads_dequantized(tmp_path):
    from tf_esgan.pretrained.weights import QuantizedKernel, quantize_kernel

    # channel 0: max 1 -> scale 1/127; channel 1: max 2 -> scale 2/127; channel 2 all zero -> scale 1
    kernel = np.array([[0.5, -2.0, 0.0], [1.0, 0.25, 0.0]], np.float32)
    quantized = quantize_kernel(kernel)
    np.testing.assert_allclose(quantized.scales, [1 / 127, 2 / 127, 1.0], rtol=1e-7)
    # 0.5 * 127 = 63.5 rounds to even (64); 0.25 * 127 / 2 = 15.875 -> 16
    np.testing.assert_array_equal(quantized.values, [[64, -127, 0], [127, 16, 0]])
    assert quantized.values.dtype == np.int8

    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.02, (3, 3, 4, 8)).astype(np.float32), np.array([1 / 3, 2.0], np.float32),
               np.array([7, 8], np.int64)]
    stored = to_storage(weights, "test", "int8")
    assert isinstance(stored[0], QuantizedKernel) and stored[1].dtype == np.float16 and stored[2].dtype == np.int64
    save_weights(tmp_path / "w.npz", stored)
    with np.load(tmp_path / "w.npz") as archive:  # int8 values with their scales beside them
        assert sorted(archive.files) == ["scale_0000", "weight_0000", "weight_0001", "weight_0002"]
        assert archive["weight_0000"].dtype == np.int8
    loaded = load_weights(tmp_path / "w.npz")
    assert loaded[0].dtype == np.float32
    np.testing.assert_array_equal(loaded[0], stored[0].values.astype(np.float32) * stored[0].scales)
    largest = np.abs(weights[0]).reshape(-1, 8).max(axis=0)
    assert np.all(np.abs(loaded[0] - weights[0]) <= largest / 254 * (1 + 1e-6))  # half a step of its channel
    np.testing.assert_array_equal(loaded[1], np.float16([1 / 3, 2.0]))
    np.testing.assert_array_equal(loaded[2], [7, 8])


def test_an_int8_packaged_generator_loads_close_to_the_original(tiny_pretrained, tmp_path):
    from tf_esgan.serving.pretrained_packaging import package_generator

    record = package_generator(tiny_pretrained["generator"], name="tiny8", variant="enhanced",
                               network=tiny_pretrained["network"], directory=tmp_path, weights_dtype="int8")
    assert record["weights_dtype"] == "int8"
    generator, kind = load_generator("tiny8", directory=tmp_path)
    assert kind == "skeleton"
    original = tiny_pretrained["generator"].get_weights()
    for loaded, weight in zip(generator.get_weights(), original):
        tolerance = (np.abs(weight).max() / 254 if weight.ndim >= 2 else np.abs(weight).max() / 1024) + 1e-12
        assert np.abs(loaded - weight).max() <= tolerance * (1 + 1e-6)
    check = record["storage_check"]
    assert check["mean_grey_level_difference"] < 1.0, check
    shipped_f16 = (tiny_pretrained["directory"] / "tiny_generator.npz").stat().st_size
    assert (tmp_path / "tiny8_generator.npz").stat().st_size < 0.75 * shipped_f16
