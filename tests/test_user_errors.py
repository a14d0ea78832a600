"""Errors a user causes (bad data files, wrong model, unwritable output, moved data) are
`UserError`s naming the file or flag, raised before the expensive work; and a few
commands end to end: exit status 2, one stderr line, no traceback."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tf_esgan.data.datasets import DatasetError, check_samples, list_samples, sample_root, validate
from tf_esgan.errors import ConfigError, ModelLoadError, UserError
from tf_esgan.evaluation.table1_job import EvaluationConfig, evaluate_generator
from tf_esgan.io_utils import UnwritableFolderError, ensure_writable_dir
from tf_esgan.models.precision import AUTO_DTYPE_POLICY
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.runs.run_dir import ConfigMismatchError, config_to_dict, prepare_run_dir
from tf_esgan.pretrained.segnet_loading import load_segnet, save_watershed_config
from tf_esgan.segmentation.scoring import evaluate_run
from tf_esgan.segmentation.postprocess import WatershedConfig
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
from tf_esgan.segmentation.train_config import SegNetDataConfig
from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

from conftest import tiny_train_config

REPO = Path(__file__).resolve().parents[1]
# Leaf fields of TrainConfig (and esgan-train flags): tiny_train_config(..., **TINY_GAN) or --flags.
TINY_GAN = dict(image_size=32, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4,
                batch_size=2, epochs=1, steps_per_epoch=1, verbose=0, contour_xla=False)


def _copy_sample(root: Path) -> Path:
    """The four 256x256 demo pairs, copied to `root` to be damaged."""
    shutil.copytree(sample_root() / "images", root / "images")
    shutil.copytree(sample_root() / "masks", root / "masks")
    return root


def _first(root: Path, folder: str) -> Path:
    return sorted((root / folder).glob("*.png"))[0]


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def _one_line_naming(error: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(error.value)
    assert isinstance(error.value, UserError) and "\n" not in message, message
    for part in parts:
        assert part in message, message


def _damage(root: Path, kind: str) -> Path:
    """One damaged file of a copied sample; returns it."""
    if kind == "truncated":
        return _truncate(_first(root, "images"))
    if kind == "empty":
        path = _first(root, "masks")
        path.write_bytes(b"")
        return path
    if kind == "size":
        path = _first(root, "masks")
        cv2.imwrite(str(path), np.zeros((100, 90), np.uint16))
        return path
    path = _first(root, "images")  # grayscale
    cv2.imwrite(str(path), cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    return path


@pytest.mark.parametrize("kind, what", [
    ("truncated", "truncated PNG"), ("empty", "empty file"), ("size", "mask is 90x100"),
    ("grayscale", "expected an RGB image, got 1 channel")])
def test_bad_file_stops_both_trainers_before_the_run_folder_exists(tmp_path, kind, what):
    data = _copy_sample(tmp_path / "data")
    bad = _damage(data, kind)
    with pytest.raises(DatasetError) as error:
        train_and_evaluate(tiny_train_config(data, tmp_path / "gan", test_fraction=0.1, **TINY_GAN),
                           log=lambda message: None)
    _one_line_naming(error, str(bad), what)
    with pytest.raises(DatasetError) as error:
        train_segnet(SegNetTrainConfig(data=SegNetDataConfig(dataset_dir=str(data), crop_size=64),
                                       model=SegNetConfig(base_filters=4, dtype_policy=AUTO_DTYPE_POLICY)),
                     tmp_path / "seg", verbose=0)
    _one_line_naming(error, str(bad), what)
    assert not (tmp_path / "gan").exists() and not (tmp_path / "seg").exists()


def test_many_bad_files_are_counted_and_the_first_named(tmp_path):
    data = _copy_sample(tmp_path / "data")
    for path in sorted((data / "images").glob("*.png")):
        _truncate(path)
    with pytest.raises(DatasetError) as error:
        check_samples(list_samples(data), source=data)
    _one_line_naming(error, f"{data}: 4 bad pairs of 4", str(_first(data, "images")))
    assert len(validate(data)) == 4


def test_synthetic_set_of_a_segnet_s_run_is_checked(tmp_path):
    synthetic = _copy_sample(tmp_path / "synthetic")
    bad = _truncate(_first(synthetic, "images"))
    config = SegNetTrainConfig(data=SegNetDataConfig(train_set="S", dataset_dir=str(sample_root()),
                                                     synthetic_dir=str(synthetic), crop_size=64),
                               model=SegNetConfig(base_filters=4, dtype_policy=AUTO_DTYPE_POLICY))
    with pytest.raises(DatasetError) as error:
        train_segnet(config, tmp_path / "seg", verbose=0)
    _one_line_naming(error, str(bad))


def test_crop_larger_than_the_images_names_the_flag_and_the_smallest_image(tmp_path):
    with pytest.raises(ConfigError) as error:
        train_and_evaluate(tiny_train_config(sample_root(), tmp_path / "gan", test_fraction=0.1,
                                                 **{**TINY_GAN, "image_size": 512, "generator_depth": 9}))
    _one_line_naming(error, "--image_size=512", "images/", "(256x256, WxH)")
    with pytest.raises(ConfigError) as error:
        train_segnet(SegNetTrainConfig(data=SegNetDataConfig(dataset_dir=str(sample_root()), crop_size=1024)),
                     tmp_path / "seg")
    _one_line_naming(error, "--crop_size=1024", "(256x256, WxH)")
    assert not (tmp_path / "gan").exists() and not (tmp_path / "seg").exists()


def test_unwritable_output_names_the_flag(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("a regular file")
    for path in (tmp_path / "afile" / "out", tmp_path / "afile"):
        with pytest.raises(UnwritableFolderError) as error:
            ensure_writable_dir(path, "--out_dir")
        _one_line_naming(error, f"--out_dir={path}: cannot write there")
    assert ensure_writable_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    with pytest.raises(UnwritableFolderError, match="--model_dir=.*gan: cannot write there"):
        train_and_evaluate(tiny_train_config(sample_root(), tmp_path / "afile" / "gan", test_fraction=0.1,
                                                 **TINY_GAN))
    # Permission bits (which root ignores): the check asks os.access.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(UnwritableFolderError, match="--model_dir=.*seg: cannot write there .permission denied"):
        train_segnet(SegNetTrainConfig(data=SegNetDataConfig(dataset_dir=str(sample_root()), crop_size=64)),
                     tmp_path / "seg")
    with pytest.raises(UnwritableFolderError, match="--out_dir"):
        evaluate_generator(EvaluationConfig(model="no/such/model", dataset_dir=str(sample_root()),
                                            out_dir=str(tmp_path / "eval")))


def _fake_run(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_evaluation_refuses_bad_data_and_the_wrong_kind_of_model(tmp_path):
    def evaluate(model, dataset_dir):
        return evaluate_generator(EvaluationConfig(model=str(model), dataset_dir=str(dataset_dir),
                                                   out_dir=str(tmp_path / "eval")), log=lambda message: None)

    data = _copy_sample(tmp_path / "data")
    bad = _truncate(_first(data, "images"))
    with pytest.raises(DatasetError) as error:
        evaluate("no/such/model", data)  # the data is checked first, before any model is loaded
    _one_line_naming(error, str(bad))
    with pytest.raises(DatasetError, match="missing"):
        evaluate("no/such/model", tmp_path / "nowhere")
    (tmp_path / "empty" / "images").mkdir(parents=True)
    (tmp_path / "empty" / "masks").mkdir()
    with pytest.raises(DatasetError, match="no samples"):
        evaluate("no/such/model", tmp_path / "empty")
    assert not (tmp_path / "eval").exists()

    segnet_run = _fake_run(tmp_path / "segrun", config_to_dict(SegNetTrainConfig(data=SegNetDataConfig(
        dataset_dir=str(data)))))
    with pytest.raises(ModelLoadError) as error:
        evaluate(segnet_run, sample_root())
    _one_line_naming(error, f"{segnet_run}: this is an esgan-train-segnet run", "a generator is needed")
    gan_run = _fake_run(tmp_path / "ganrun", config_to_dict(
        tiny_train_config(data, tmp_path / "ganrun", test_fraction=0.1, **TINY_GAN)))
    with pytest.raises(ModelLoadError, match="checkpoints: no checkpoint; train the run first"):
        load_generator(str(gan_run), log=lambda message: None)
    with pytest.raises(ModelLoadError) as error:
        load_segnet(gan_run)
    _one_line_naming(error, f"{gan_run}: this is an esgan-train run", "a SegNet is needed")
    with pytest.raises(ModelLoadError) as error:
        evaluate_run(gan_run)
    _one_line_naming(error, "this is an esgan-train run")


def test_configs_store_absolute_paths_and_old_relative_runs_still_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = SegNetTrainConfig(data=SegNetDataConfig(train_set="S", dataset_dir="data", synthetic_dir="synth"))
    assert (config.data.dataset_dir, config.data.synthetic_dir) == (str(tmp_path / "data"), str(tmp_path / "synth"))
    gan = TrainConfig(data=GanDataConfig(dataset_dir="data"), runtime=RuntimeConfig(model_dir="run"))
    assert gan.data.dataset_dir == str(tmp_path / "data") and gan.runtime.model_dir == str(tmp_path / "run")
    (tmp_path / "data").mkdir()
    old = config_to_dict(config)
    old["data"] = {**old["data"], "dataset_dir": "data", "synthetic_dir": "synth"}  # as written before
    _fake_run(tmp_path / "old", old)
    paths = ("data.dataset_dir", "data.synthetic_dir")
    prepare_run_dir(tmp_path / "old", config, paths=paths)  # resumed from the folder it was started in
    assert json.loads((tmp_path / "old" / "config.json").read_text())["data"]["dataset_dir"] == str(tmp_path / "data")
    (tmp_path / "old" / "config.json").write_text(json.dumps(old))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ConfigMismatchError, match="data.dataset_dir: the run's .*elsewhere/data no longer exists"):
        prepare_run_dir(tmp_path / "old", SegNetTrainConfig(data=SegNetDataConfig(
            train_set="S", dataset_dir=str(tmp_path / "data"), synthetic_dir=str(tmp_path / "synth"))), paths=paths)


def _tiny_segnet_run(folder: Path, dataset_dir: Path) -> Path:
    run = _fake_run(folder, config_to_dict(SegNetTrainConfig(data=SegNetDataConfig(dataset_dir=str(dataset_dir),
                                                                                   test_fraction=0.5))))
    build_segnet(SegNetConfig(base_filters=2)).save(run / "segnet.keras")
    save_watershed_config(WatershedConfig(min_area=3), run / "watershed.json")
    return run


def test_moved_dataset_of_a_segnet_run_names_the_config_field_and_flag(tmp_path):
    data = _copy_sample(tmp_path / "data")
    run = _tiny_segnet_run(tmp_path / "run", data)
    data.rename(tmp_path / "moved")
    with pytest.raises(DatasetError) as error:
        evaluate_run(run)
    _one_line_naming(error, f"{run / 'config.json'}: dataset_dir {data} does not exist", "--dataset_dir")
    report = evaluate_run(run, dataset_dir=tmp_path / "moved")
    assert report["dataset_dir"] == str(tmp_path / "moved")


# End to end: each command is a fresh process (about 5 s of TensorFlow import each).

def _command(module: str, *flags: str, cwd=REPO):
    result = subprocess.run([sys.executable, "-m", f"tf_esgan.cli.{module}", *flags], cwd=cwd,
                            capture_output=True, text=True, timeout=300)
    return result


def _assert_one_error_line(result, command: str, *parts: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def test_cli_train_on_a_truncated_image(tmp_path):
    data = _copy_sample(tmp_path / "data")
    bad = _truncate(_first(data, "images"))
    result = _command("train_gan", f"--dataset_dir={data}", f"--model_dir={tmp_path / 'run'}", "--quiet",
                      *(f"--{name}={value}" for name, value in TINY_GAN.items() if name != "verbose"))
    _assert_one_error_line(result, "esgan-train", str(bad), "truncated PNG")
    assert not (tmp_path / "run").exists()


def test_cli_train_segnet_with_a_crop_larger_than_the_images(tmp_path):
    result = _command("train_segnet", f"--dataset_dir={sample_root()}", f"--model_dir={tmp_path / 'run'}",
                      "--crop_size=1024")
    _assert_one_error_line(result, "esgan-train-segnet", "--crop_size=1024", "(256x256, WxH)")


def test_cli_evaluate_with_a_segnet_run_as_model(tmp_path):
    run = _fake_run(tmp_path / "segrun", config_to_dict(SegNetTrainConfig(data=SegNetDataConfig(
        dataset_dir=str(sample_root())))))
    result = _command("evaluate", f"--model={run}", f"--dataset_dir={sample_root()}",
                      f"--out_dir={tmp_path / 'eval'}")
    _assert_one_error_line(result, "esgan-evaluate", f"{run}: this is an esgan-train-segnet run")


def test_cli_evaluate_segnet_from_another_folder_scores_the_runs_own_dataset(tmp_path):
    data = _copy_sample(tmp_path / "data")
    run = _tiny_segnet_run(tmp_path / "run", data)
    elsewhere = tmp_path / "elsewhere"
    _copy_sample(elsewhere / "data")  # a decoy named like the run's dataset
    _truncate(_first(elsewhere / "data", "images"))
    result = _command("evaluate_segnet", f"--model={run}", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run / "eval_test.json").read_text())
    assert report["dataset_dir"] == str(data) and len(report["images"]) == 2


def test_cli_train_stops_cleanly_on_damage_only_decoding_finds(tmp_path):
    """Bytes flipped inside a complete PNG: found by tf.data mid-run, still one line and status 2
    (not a traceback and `terminate called without an active exception`, status 134)."""
    data = _copy_sample(tmp_path / "data")
    bad = _first(data, "images")
    content = bytearray(bad.read_bytes())
    content[2000:3000] = bytes(value ^ 0xFF for value in content[2000:3000])
    bad.write_bytes(bytes(content))
    assert validate(data) == []  # the header check cannot see it
    result = _command("train_gan", f"--dataset_dir={data}", f"--model_dir={tmp_path / 'run'}", "--quiet",
                      "--test_fraction=0.25", "--steps_per_epoch=4",
                      *(f"--{name}={value}" for name, value in TINY_GAN.items()
                        if name not in ("verbose", "steps_per_epoch")))
    lines = [line for line in result.stderr.splitlines() if not line.startswith("libpng error")]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1 and str(bad) in lines[0] and "found while reading batches" in lines[0], result.stderr
