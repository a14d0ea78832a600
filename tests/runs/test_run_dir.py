"""config.json: written once, resumed when equal, refused with the differing values."""

import dataclasses
import json
from pathlib import Path

import pytest

from tf_esgan.runs.run_dir import ConfigMismatchError, config_to_dict, prepare_run_dir


@dataclasses.dataclass(frozen=True, kw_only=True)
class Inner:
    beta: float = 1.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    dataset: Path = Path("/data/tnbc")
    epochs: int = 150
    loss: Inner = Inner()


def test_config_round_trip_and_resume(tmp_path):
    prepare_run_dir(tmp_path / "run", Config())
    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert written == {"dataset": "/data/tnbc", "epochs": 150, "loss": {"beta": 1.0}}
    assert config_to_dict(Config()) == written
    prepare_run_dir(tmp_path / "run", Config())  # same config: resume allowed
    prepare_run_dir(tmp_path / "run", Config(epochs=200), ignore=("epochs",))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 200


def test_differing_config_is_refused_naming_values(tmp_path):
    prepare_run_dir(tmp_path, Config())
    with pytest.raises(ConfigMismatchError) as error:
        prepare_run_dir(tmp_path, Config(loss=Inner(beta=2.0), epochs=3))
    # One line naming the first difference; all of them in `differences`.
    message = str(error.value)
    assert "\n" not in message and "epochs: 150 in the run, 3 requested (and 1 other setting)" in message
    assert error.value.differences == ("epochs: 150 in the run, 3 requested",
                                       "loss.beta: 1.0 in the run, 2.0 requested")
    # Nothing was changed by the refusal; overwrite replaces.
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 150
    prepare_run_dir(tmp_path, Config(epochs=3), overwrite=True)
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temp files left


def test_dotted_ignore_and_paths_address_nested_fields(tmp_path):
    prepare_run_dir(tmp_path, Config(loss=Inner(beta=1.0)))
    prepare_run_dir(tmp_path, Config(loss=Inner(beta=3.0)), ignore=("loss.beta",))
    assert json.loads((tmp_path / "config.json").read_text())["loss"] == {"beta": 3.0}
    with pytest.raises(ConfigMismatchError, match="loss.beta: 3.0 in the run, 4.0 requested"):
        prepare_run_dir(tmp_path, Config(loss=Inner(beta=4.0)), ignore=("loss.gamma",))


def test_an_older_layout_is_upgraded_before_comparing_then_rewritten(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"dataset": "/data/tnbc", "epochs": 150, "beta": 1.0}))

    def upgrade(values):
        if "beta" not in values:
            return values
        if not isinstance(values["beta"], float):
            raise ValueError("beta must be a float")
        return {"dataset": values["dataset"], "epochs": values["epochs"], "loss": {"beta": values["beta"]}}

    with pytest.raises(ConfigMismatchError, match="loss.beta: 1.0 in the run, 2.0 requested"):
        prepare_run_dir(tmp_path, Config(loss=Inner(beta=2.0)), upgrade=upgrade)
    prepare_run_dir(tmp_path, Config(), upgrade=upgrade)
    assert json.loads((tmp_path / "config.json").read_text())["loss"] == {"beta": 1.0}
    (tmp_path / "config.json").write_text(json.dumps({"dataset": "/d", "epochs": 150, "beta": "x"}))
    with pytest.raises(ConfigMismatchError, match="an older config that cannot be read"):
        prepare_run_dir(tmp_path, Config(), upgrade=upgrade)
