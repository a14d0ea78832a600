"""A trainer writes only into an empty folder or a run of its own.

A dataset, a synthetic set, the other trainer's run or a folder of other files is refused
with or without overwrite, naming what it is; overwrite deletes only what the trainer
wrote; every refusal is one line (on the command line: exit 2, no traceback).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.synthesis import synthetic_set
from tf_esgan.data.datasets import sample_root
from tf_esgan.data.pair_formats import write_pair
from tf_esgan.errors import UserError
from tf_esgan.models.precision import AUTO_DTYPE_POLICY
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.runs.run_dir import SYNTHETIC_SET, ConfigMismatchError, config_to_dict, prepare_run_dir, run_kind
from tf_esgan.runs.run_owner import ForeignFolderError
from tf_esgan.segmentation import train as segnet_training
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainerConfig
from tf_esgan.training import gan_trainer
from tf_esgan.training.checkpoints import CheckpointError, restore_newest
from tf_esgan.training.gan_trainer import train_and_evaluate

from conftest import tiny_train_config

REPO = Path(__file__).resolve().parents[2]
TINY_FLAGS = ("--image_size=32", "--generator_base_filters=4", "--generator_depth=5",
              "--discriminator_base_filters=4", "--batch_size=2", "--test_fraction=0.25", "--epochs=1",
              "--steps_per_epoch=1", "--contour_xla=false", "--quiet")


def _gan(model_dir, **overrides):
    return tiny_train_config(sample_root(), model_dir, batch_size=2, **overrides)


def _segnet(**trainer):
    return SegNetTrainConfig(data=SegNetDataConfig(dataset_dir=str(sample_root()), crop_size=64),
                             model=SegNetConfig(base_filters=4, dtype_policy=AUTO_DTYPE_POLICY),
                             trainer=SegNetTrainerConfig(epochs=1, steps_per_epoch=1, batch_size=2, tune_images=1,
                                                         **trainer))


def _synthetic_set(folder: Path) -> Path:
    """A one-pair set as esgan-synthesize writes it (config.json with the weights' hash)."""
    folder.mkdir()
    identity = {"model": "pretrained:tiny", "checkpoint_step": None, "sha256": "a" * 64}
    synthetic_set.prepare(folder, {"model": "pretrained:tiny", "out_dir": str(folder), "num_images": 1,
                                   "preset": "tnbc", "seed": 0, "batch_size": 2, "conditioning": "enhanced",
                                   "format": "canonical", "overwrite": False, synthetic_set.WEIGHTS_KEY: identity},
                          overwrite=False)
    labels = np.zeros((32, 32), np.uint16)
    labels[8:16, 8:16] = 1
    write_pair(folder, "canonical", synthetic_set.ID_FORMAT.format(0), np.full((32, 32, 3), 200, np.uint8), labels)
    return folder


def _copy_sample(folder: Path) -> Path:
    for name in ("images", "masks"):
        shutil.copytree(sample_root() / name, folder / name)
    return folder


def _fake_run(folder: Path, config: dict, *files: str) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    return folder


def _snapshot(folder: Path) -> dict:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _one_line(error: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(error.value)
    assert isinstance(error.value, UserError) and "\n" not in message, message
    for part in parts:
        assert part in message, message


def _train_both(folder: Path, overwrite: bool):
    """Both trainers into `folder`: their refusals (each must refuse)."""
    with pytest.raises(ForeignFolderError) as gan:
        train_and_evaluate(_gan(folder, overwrite=overwrite), log=lambda message: None)
    with pytest.raises(ForeignFolderError) as segnet:
        train_segnet(_segnet(), folder, overwrite=overwrite, verbose=0)
    return gan, segnet


def test_a_synthetic_set_is_refused_by_both_trainers_with_or_without_overwrite(tmp_path):
    folder = _synthetic_set(tmp_path / "set")
    assert run_kind(folder) == SYNTHETIC_SET
    before = _snapshot(folder)
    for overwrite in (False, True):
        gan, segnet = _train_both(folder, overwrite)
        _one_line(gan, str(folder), "a synthetic set written by esgan-synthesize", "not an esgan-train run",
                  "--model_dir")
        _one_line(segnet, "a synthetic set written by esgan-synthesize", "not an esgan-train-segnet run")
    assert _snapshot(folder) == before  # its config.json (weights' sha256) and pairs untouched, nothing added


def test_each_trainer_refuses_the_other_trainers_run(tmp_path):
    gan_run = _fake_run(tmp_path / "gan", config_to_dict(_gan(tmp_path / "gan")), "checkpoints/ckpt-1.index")
    segnet_run = _fake_run(tmp_path / "segnet", config_to_dict(_segnet()), "segnet.keras", "watershed.json")
    before = _snapshot(tmp_path)
    for overwrite in (False, True):
        with pytest.raises(ForeignFolderError) as error:
            train_and_evaluate(_gan(segnet_run, overwrite=overwrite), log=lambda message: None)
        _one_line(error, f"{segnet_run}: this is an esgan-train-segnet run (a SegNet), not an esgan-train run")
        with pytest.raises(ForeignFolderError) as error:
            train_segnet(_segnet(), gan_run, overwrite=overwrite, verbose=0)
        _one_line(error, f"{gan_run}: this is an esgan-train run (a GAN), not an esgan-train-segnet run")
    assert _snapshot(tmp_path) == before


def test_a_dataset_or_other_files_are_refused(tmp_path):
    dataset = _copy_sample(tmp_path / "data")
    stray = _fake_run(tmp_path / "stray", {"note": "some other program's config"})
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    (tmp_path / "notes" / "checkpoints").mkdir()  # a name a trainer writes does not make it a run
    before = _snapshot(tmp_path)
    for overwrite in (False, True):
        gan, segnet = _train_both(dataset, overwrite)
        _one_line(gan, f"{dataset}: it holds a dataset (image/label pairs, canonical layout)")
        _one_line(segnet, "it holds a dataset")
        gan, segnet = _train_both(stray, overwrite)
        _one_line(gan, "its config.json is not one an esgan command writes")
        gan, segnet = _train_both(tmp_path / "notes", overwrite)
        _one_line(gan, "it holds notes.txt but no esgan-train run")
        _one_line(segnet, "it holds notes.txt but no esgan-train-segnet run")
    assert _snapshot(tmp_path) == before


def test_overwrite_deletes_only_what_the_trainer_wrote(tmp_path):
    others = ("eval_test.json", "notes.txt")  # esgan-evaluate-segnet's report, the user's notes
    written = ("checkpoints/ckpt-1.index", "logs/events.out", "segnet.keras", "watershed.json",
               "checkpoint.json", "checkpoint-3.keras")  # the last two: the fit-era trainer's
    old = _segnet(learning_rate=0.5)
    folder = _fake_run(tmp_path / "segnet", config_to_dict(old), *written, *others)
    prepare_run_dir(folder, old, owner=segnet_training.RUN_OWNER)  # its own run: other files do not matter
    with pytest.raises(ConfigMismatchError):
        prepare_run_dir(folder, _segnet(), owner=segnet_training.RUN_OWNER)
    prepare_run_dir(folder, _segnet(), overwrite=True, owner=segnet_training.RUN_OWNER)
    assert sorted(_snapshot(folder)) == sorted(["config.json", *others])
    assert json.loads((folder / "config.json").read_text()) == config_to_dict(_segnet())

    folder = _fake_run(tmp_path / "gan", config_to_dict(_gan(tmp_path / "gan", seed=3)), "checkpoints/ckpt-1.index",
                       "logs/events.out", "notes.txt")
    prepare_run_dir(folder, _gan(folder), overwrite=True, owner=gan_trainer.RUN_OWNER)
    assert sorted(_snapshot(folder)) == ["config.json", "notes.txt"]


def _visible(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))


def test_every_file_a_gan_run_writes_is_one_overwrite_deletes(tmp_path):
    # An earlier run with other settings (its checkpoint unreadable: resuming it would fail).
    folder = _fake_run(tmp_path / "run", config_to_dict(_gan(tmp_path / "run", seed=3)), "checkpoints/ckpt-1.index",
                       "logs/events.out", "notes.txt")
    result = train_and_evaluate(_gan(folder, overwrite=True), log=lambda message: None)
    assert result.resumed_from is None and result.step == 1
    assert (folder / "notes.txt").read_text() == "notes.txt" and not (folder / "logs" / "events.out").exists()
    gan_trainer.RUN_OWNER.clear(folder)
    assert _visible(folder) == ["notes.txt"]


def test_every_file_a_segnet_run_writes_is_one_overwrite_deletes(tmp_path):
    folder = _fake_run(tmp_path / "run", config_to_dict(_segnet(seed=3)), "checkpoint.json", "checkpoint-3.keras",
                       "checkpoints/ckpt-1.index", "eval_test.json")
    train_segnet(_segnet(), folder, overwrite=True, verbose=0)
    assert (folder / "segnet.keras").is_file() and (folder / "watershed.json").is_file()
    assert not (folder / "checkpoint-3.keras").exists() and (folder / "eval_test.json").exists()
    segnet_training.RUN_OWNER.clear(folder)
    assert _visible(folder) == ["eval_test.json"]


def test_a_differing_config_is_one_line_naming_the_first_difference(tmp_path):
    prepare_run_dir(tmp_path, _gan(tmp_path, lam=0.5, learning_rate=1e-3, seed=7))
    with pytest.raises(ConfigMismatchError) as error:
        prepare_run_dir(tmp_path, _gan(tmp_path, lam=0.25, learning_rate=1e-3, seed=8, epochs=3),
                        ignore=("trainer.epochs",), owner=gan_trainer.RUN_OWNER)
    _one_line(error, f"{tmp_path / 'config.json'} belongs to a run with a different config: "
                     "loss.lam: 0.5 in the run, 0.25 requested (and 1 other setting); rerun with the same "
                     "settings, --overwrite to start over, or another --model_dir")
    assert error.value.differences == ("loss.lam: 0.5 in the run, 0.25 requested",
                                       "trainer.seed: 7 in the run, 8 requested")


def test_no_readable_checkpoint_is_one_line(tmp_path):
    for step in (1, 2):
        (tmp_path / f"ckpt-{step}.index").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as error:
        restore_newest(tf.train.Checkpoint(step=tf.Variable(0)), tmp_path, log=lambda message: None)
    _one_line(error, f"{tmp_path}: no readable checkpoint ({tmp_path / 'ckpt-2'}: ", "(and 1 more)",
              "--overwrite")


# End to end: one command each (a fresh process, a few seconds of TensorFlow import).

def _command(module: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"tf_esgan.cli.{module}", *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _one_error_line(result: subprocess.CompletedProcess, command: str, *parts: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: "), result.stderr[-3000:]
    for part in parts:
        assert part in lines[0], lines[0]


def test_cli_train_with_overwrite_keeps_a_synthetic_set(tmp_path):
    folder = _synthetic_set(tmp_path / "set")
    before = _snapshot(folder)
    result = _command("train_gan", f"--dataset_dir={sample_root()}", f"--model_dir={folder}", "--overwrite",
                      *TINY_FLAGS)
    _one_error_line(result, "esgan-train", f"{folder}: this is a synthetic set written by esgan-synthesize")
    assert _snapshot(folder) == before


def test_cli_train_segnet_into_a_dataset(tmp_path):
    dataset = _copy_sample(tmp_path / "data")
    result = _command("train_segnet", f"--dataset_dir={sample_root()}", f"--model_dir={dataset}", "--crop_size=64")
    _one_error_line(result, "esgan-train-segnet", f"{dataset}: it holds a dataset")
    assert not (dataset / "config.json").exists()


def test_cli_train_resumed_with_other_flags_is_one_line(tmp_path):
    run = _fake_run(tmp_path / "run", config_to_dict(_gan(tmp_path / "run", lam=0.5, learning_rate=1e-3, seed=7)))
    result = _command("train_gan", f"--dataset_dir={sample_root()}", f"--model_dir={run}", *TINY_FLAGS)
    _one_error_line(result, "esgan-train", "loss.lam: 0.5 in the run, ", "(and 2 other settings)",
                    "--overwrite to start over, or another --model_dir")
