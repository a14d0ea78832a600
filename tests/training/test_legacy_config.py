"""config.json files written before TrainConfig was nested (one flat dict) still load and resume."""

import json

import pytest

from tf_esgan.data.datasets import sample_root
from tf_esgan.runs.run_dir import ConfigMismatchError, config_to_dict
from tf_esgan.training.gan_config import TrainConfig, nested_json_dict
from tf_esgan.training.gan_trainer import train_and_evaluate

from conftest import FLAT_TRAIN_CONFIG_FIELDS, flat_train_config_json, tiny_train_config

# A flat config.json has no contour_xla: those runs trained with its default, the XLA path.
FLAT_ERA = dict(contour_xla=True)


def test_flat_and_nested_config_json_read_as_the_same_config(tmp_path):
    config = tiny_train_config(sample_root(), tmp_path / "run", variant="sharp_gan", lam=0.3, norm="batch",
                               split_seed=5, dtype_policy="float32", **FLAT_ERA)
    flat = flat_train_config_json(config)
    assert set(flat) == set(FLAT_TRAIN_CONFIG_FIELDS) and flat["variant"] == "sharp_gan"
    assert TrainConfig.from_json_dict(flat) == config
    assert TrainConfig.from_json_dict(config_to_dict(config)) == config
    assert nested_json_dict(flat) == config_to_dict(config)
    nested = config_to_dict(config)
    assert nested_json_dict(nested) == nested
    # Fields a flat file predates mean what they meant then.
    older = {key: value for key, value in flat.items() if key not in ("norm", "dtype_policy", "split_seed")}
    legacy = TrainConfig.from_json_dict(older)
    assert (legacy.model.norm, legacy.model.dtype_policy, legacy.data_split_seed) == ("batch", "float32", 0)


def test_a_flat_config_json_run_resumes_and_is_rewritten_nested(tmp_path):
    run = tmp_path / "run"
    first = tiny_train_config(sample_root(), run, batch_size=2, dtype_policy="float32", **FLAT_ERA)
    assert train_and_evaluate(first, log=lambda message: None).step == 1
    (run / "config.json").write_text(json.dumps(flat_train_config_json(first), indent=2))

    # A value that changes what a checkpoint means is still refused, named by its dotted path.
    with pytest.raises(ConfigMismatchError, match=r"trainer\.batch_size: 2 in the run, 1 requested"):
        train_and_evaluate(tiny_train_config(sample_root(), run, batch_size=1, dtype_policy="float32", **FLAT_ERA),
                           log=lambda message: None)
    assert "loss" not in json.loads((run / "config.json").read_text())  # untouched by the refusal

    longer = tiny_train_config(sample_root(), run, batch_size=2, dtype_policy="float32", epochs=2, **FLAT_ERA)
    said = []
    assert train_and_evaluate(longer, log=said.append).step == 2
    assert any(line.startswith("resumed from ") and "step 1" in line for line in said), said
    assert json.loads((run / "config.json").read_text()) == config_to_dict(longer)


def test_a_nested_run_written_before_the_added_fields_resumes_as_the_run_it_was(tmp_path):
    from tf_esgan.training.gan_config import ADDED_FIELDS

    run = tmp_path / "run"
    first = tiny_train_config(sample_root(), run, dtype_policy="float32")
    assert train_and_evaluate(first, log=lambda message: None).step == 1
    written = json.loads((run / "config.json").read_text())
    for section, name in ADDED_FIELDS:
        del written[section][name]
    (run / "config.json").write_text(json.dumps(written))
    # The added fields mean what such a run did: asking for another value is refused ...
    with pytest.raises(ConfigMismatchError, match=r"model\.padding: 'zero' in the run, 'reflect' requested"):
        train_and_evaluate(tiny_train_config(sample_root(), run, dtype_policy="float32", padding="reflect"),
                           log=lambda message: None)
    # ... and the same settings resume, the config rewritten with the fields.
    longer = tiny_train_config(sample_root(), run, dtype_policy="float32", epochs=2)
    assert train_and_evaluate(longer, log=lambda message: None).step == 2
    assert json.loads((run / "config.json").read_text()) == config_to_dict(longer)
