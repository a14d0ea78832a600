"""Flags generated from config dataclasses: one definition per field, --config files, overrides."""

import dataclasses
import json
import typing

import pytest
from absl import flags

from tf_esgan.cli.config_flags import attribute_help, config_from_flags, define_config_flags
from tf_esgan.errors import ConfigError
from tf_esgan.models.precision import recommended_dtype_policy
from tf_esgan.training.gan_config import TrainConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Optimizer:
    """Attributes:
      learning_rate: Adam step size
        (continued on a second line).
      beta_1, beta_2: Adam's moment decays.
    """

    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Job:
    """Attributes:
      data_dir: where the data are.
      kind: which model.
      steps: how long.
      seed: an optional seed.
      resume: keep going.
      optimizer: the optimizer.
    """

    data_dir: str
    kind: str = "small"
    steps: int = 10
    seed: int | None = None
    resume: bool = False
    optimizer: _Optimizer = dataclasses.field(default_factory=_Optimizer)

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"_Job: `steps` must be >= 1, got {self.steps}")


def _define(**options):
    flag_values = flags.FlagValues()
    defined = define_config_flags(_Job, flag_values=flag_values, **options)
    return flag_values, defined


def test_docstring_attributes_become_help_texts():
    helps = attribute_help(_Optimizer)
    assert helps == {"learning_rate": "Adam step size (continued on a second line).",
                     "beta_1": "Adam's moment decays.", "beta_2": "Adam's moment decays."}
    flag_values, _ = _define()
    assert flag_values["data_dir"].help == "where the data are. (required)"
    assert flag_values["learning_rate"].help.startswith("Adam step size")


def test_flags_build_the_nested_config():
    flag_values, defined = _define(choices={"kind": ["small", "large"]}, renames={"steps": "num_steps"})
    flag_values(["job", "--data_dir=/d", "--num_steps=5", "--kind=large", "--learning_rate=0.5", "--seed=3",
                 "--resume"])
    assert config_from_flags(defined) == _Job(data_dir="/d", kind="large", steps=5, seed=3, resume=True,
                                              optimizer=_Optimizer(learning_rate=0.5))
    with pytest.raises(flags.IllegalFlagValueError):
        flag_values(["job", "--kind=huge"])


def test_config_file_then_flags_then_fixed_values(tmp_path):
    flag_values, defined = _define()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data_dir": "/from_file", "steps": 7, "optimizer": {"beta_1": 0.5}}))
    flag_values(["job", f"--config={path}", "--steps=8"])
    config = config_from_flags(defined, resume=True)
    assert (config.data_dir, config.steps, config.optimizer.beta_1, config.resume) == ("/from_file", 8, 0.5, True)
    # A flat config (as TrainConfig's config.json) is read by leaf names too.
    path.write_text(json.dumps({"data_dir": "/flat", "beta_2": 0.9}))
    flag_values(["job", f"--config={path}"])
    assert config_from_flags(defined).optimizer.beta_2 == 0.9


def test_errors_name_the_flag_or_file(tmp_path):
    flag_values, defined = _define()
    flag_values(["job"])
    with pytest.raises(ConfigError, match=r"^--data_dir is required"):
        config_from_flags(defined)
    flag_values(["job", "--data_dir=/d", "--steps=0"])
    with pytest.raises(ConfigError, match="`steps` must be >= 1, got 0"):
        config_from_flags(defined)
    (tmp_path / "bad.json").write_text("{not json")
    flag_values(["job", f"--config={tmp_path / 'bad.json'}"])
    with pytest.raises(ConfigError, match="bad.json: not a JSON config"):
        config_from_flags(defined)


def _leaf_names(config_class) -> set[str]:
    names = set()
    for field in dataclasses.fields(config_class):
        kind = typing.get_type_hints(config_class)[field.name]
        names |= _leaf_names(kind) if dataclasses.is_dataclass(kind) else {field.name}
    return names


def test_every_train_config_field_is_a_flag_with_help():
    flag_values = flags.FlagValues()
    defined = define_config_flags(TrainConfig, exclude=("verbose",), renames={"lam": "lambda"},
                                  flag_values=flag_values)
    fields = _leaf_names(TrainConfig) - {"verbose"}
    assert {path[-1] for path in defined.names} == fields
    assert defined.names[("loss", "lam")] == "lambda" and defined.names[("loss", "variant")] == "variant"
    for name in defined.names.values():
        assert len(flag_values[name].help) > 20, name  # documented in the section's docstring
    # A section's default comes from TrainConfig's default instance, not NetworkConfig's class default.
    assert flag_values["dtype_policy"].default == "auto" and flag_values["variant"].default == "enhanced"
    flag_values(["esgan-train", "--dataset_dir=/d", "--model_dir=/m", "--lambda=0.3", "--epochs=4",
                 "--dtype_policy=float32", "--generator_depth=5"])
    config = config_from_flags(defined, verbose=0)
    assert (config.loss.lam, config.trainer.epochs, config.runtime.verbose, config.variant) == (0.3, 4, 0, "enhanced")
    assert (config.model.dtype_policy, config.model.generator_depth, config.data.dataset_dir) == ("float32", 5, "/d")


def test_an_old_flat_train_config_json_is_read_by_leaf_names(tmp_path):
    flag_values = flags.FlagValues()
    defined = define_config_flags(TrainConfig, exclude=("verbose",), renames={"lam": "lambda"},
                                  flag_values=flag_values)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"dataset_dir": "/d", "model_dir": "/m", "variant": "sharp_gan", "epochs": 7,
                                "lam": 0.2, "generator_base_filters": 8, "dtype_policy": "float32"}))
    flag_values(["esgan-train", f"--config={path}", "--epochs=9"])
    config = config_from_flags(defined, verbose=0)
    assert (config.variant, config.trainer.epochs, config.loss.lam) == ("sharp_gan", 9, 0.2)
    assert (config.model.generator_base_filters, config.runtime.model_dir) == (8, "/m")


def test_dtype_policy_auto_is_resolved_when_the_config_is_made():
    flag_values = flags.FlagValues()
    defined = define_config_flags(TrainConfig, exclude=("verbose",), renames={"lam": "lambda"},
                                  flag_values=flag_values)
    flag_values(["esgan-train", "--dataset_dir=/d", "--model_dir=/m"])
    assert config_from_flags(defined).model.dtype_policy == recommended_dtype_policy()


def test_demo_network_flags_default_to_the_demos_network():
    from tf_esgan.demo import DemoConfig

    flag_values = flags.FlagValues()
    defined = define_config_flags(DemoConfig, flag_values=flag_values)
    assert (flag_values["generator_base_filters"].default, flag_values["upsampling"].default) == (16, "resize")
    flag_values(["esgan-demo", "--generator_base_filters=4"])
    config = config_from_flags(defined)
    assert config.network == dataclasses.replace(DemoConfig().network, generator_base_filters=4)
