"""Each config field, choice list and default is defined once (issue 18, item 5)."""

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from absl import flags

from tf_esgan.cli import quiet_flag
from tf_esgan.cli.config_flags import define_config_flags
from tf_esgan.config_fields import field_choices
from tf_esgan.data import skeleton
from tf_esgan.data.datasets import DEFAULT_TEST_FRACTION
from tf_esgan.demo import DemoConfig
from tf_esgan.evaluation.table1_job import EvaluationConfig
from tf_esgan.models import precision, variants
from tf_esgan.models.discriminator import DiscriminatorConfig
from tf_esgan.models.generator import GeneratorConfig
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.pretrained import registry
from tf_esgan.reproduce.pipeline import TRAINING_SETS, ReproduceConfig
from tf_esgan.segmentation.data import TRAIN_SETS
from tf_esgan.segmentation.train_config import (
    SegNetDataConfig, SegNetRuntimeConfig, SegNetTrainConfig, SegNetTrainerConfig)
from tf_esgan.serving import export_job
from tf_esgan.synthesis import SynthesisConfig
from tf_esgan.training import progress
from tf_esgan.training.config_sections import SplitConfig, StrategyConfig, TrainerBaseConfig
from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig, TrainerConfig

REPO = Path(__file__).resolve().parents[1]
JOB_CONFIGS = (TrainConfig, SegNetTrainConfig, ReproduceConfig, DemoConfig, SynthesisConfig, EvaluationConfig,
               export_job.ExportConfig)
# Fields whose values are a fixed set: each must declare it (`config_fields.choice_field`).
CHOICE_FIELDS = {"norm", "upsampling", "padding", "dtype_policy", "strategy", "train_set", "augmentation", "tune_on",
                 "variant", "preset", "conditioning", "format", "kind", "split", "budget"}


def _names(config_class):
    return [field.name for field in dataclasses.fields(config_class)]


def _leaf_fields(config_class):
    for field in dataclasses.fields(config_class):
        default = field.default_factory() if field.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default):
            yield from _leaf_fields(type(default))
        else:
            yield field


@pytest.mark.parametrize("section, base", [(TrainerConfig, TrainerBaseConfig), (SegNetTrainerConfig, TrainerBaseConfig),
                                           (GanDataConfig, SplitConfig), (SegNetDataConfig, SplitConfig),
                                           (ReproduceConfig, SplitConfig), (RuntimeConfig, StrategyConfig),
                                           (SegNetRuntimeConfig, StrategyConfig)])
def test_sections_take_their_shared_fields_from_one_class(section, base):
    assert issubclass(section, base)
    assert set(_names(base)) <= set(_names(section))
    # The checks too: a bad shared value is refused by the base's check, naming the job.
    own = {field.name: field for field in dataclasses.fields(section)}
    assert all(own[field.name].metadata == field.metadata for field in dataclasses.fields(base))


def test_trainer_defaults_stay_each_jobs_own():
    gan, segnet = TrainerConfig(), SegNetTrainerConfig()
    assert (gan.epochs, gan.batch_size, gan.learning_rate) == (150, 1, 1e-4)
    assert (segnet.epochs, segnet.batch_size, segnet.learning_rate) == (50, 4, 1e-3)
    assert _names(TrainerConfig)[:7] == _names(TrainerBaseConfig) == _names(SegNetTrainerConfig)[:7]
    with pytest.raises(ValueError, match=r"^TrainConfig: `epochs` must be >= 1"):
        TrainerConfig(epochs=0)
    with pytest.raises(ValueError, match=r"^SegNetTrainConfig: `epochs` must be >= 1"):
        SegNetTrainerConfig(epochs=0)
    with pytest.raises(ValueError, match="SegNetTrainConfig: `strategy`"):
        SegNetRuntimeConfig(strategy="tpu")


def test_split_fields_have_one_default():
    for section in (GanDataConfig, SegNetDataConfig, ReproduceConfig):
        fields = {field.name: field for field in dataclasses.fields(section)}
        assert fields["test_fraction"].default == DEFAULT_TEST_FRACTION and fields["split_seed"].default is None
    config = ReproduceConfig(dataset="tnbc", out_dir="out", seed=3)
    assert config.data_split_seed == 3 and dataclasses.replace(config, split_seed=0).data_split_seed == 0


@pytest.mark.parametrize("config_class", JOB_CONFIGS, ids=lambda cls: cls.__name__)
def test_every_choice_field_declares_its_choices_and_the_flag_is_that_enum(config_class):
    flag_values = flags.FlagValues()
    defined = define_config_flags(config_class, flag_values=flag_values)
    names = {path[-1]: name for path, name in defined.names.items()}
    for field in _leaf_fields(config_class):
        choices = field_choices(field)
        if field.name in CHOICE_FIELDS:
            assert choices, f"{config_class.__name__}.{field.name} declares no choices"
        if choices:
            assert flag_values[names[field.name]].parser.enum_values == list(choices), field.name
            if field.default is not dataclasses.MISSING:
                assert field.default in choices


def test_cli_modules_repeat_no_choice_list():
    for path in sorted((REPO / "tf_esgan" / "cli").glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text())):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "define_config_flags":
                assert "choices" not in {keyword.arg for keyword in call.keywords}, path.name


def test_one_name_per_choice_list():
    assert variants.CONDITIONINGS is skeleton.CONDITIONINGS
    assert export_job.KINDS is registry.KINDS
    assert TRAINING_SETS is TRAIN_SETS


def test_network_config_takes_the_networks_own_defaults():
    network, generator, discriminator = NetworkConfig(), GeneratorConfig(), DiscriminatorConfig()
    assert (network.image_size, network.generator_base_filters, network.generator_depth, network.norm,
            network.upsampling, network.padding, network.dropout_rate) == (
        generator.image_size, generator.base_filters, generator.depth, generator.norm, generator.upsampling,
        generator.padding, generator.dropout_rate)
    assert (network.discriminator_base_filters, network.norm) == (discriminator.base_filters, discriminator.norm)


def test_dtype_policy_has_one_default_one_choice_list_and_one_resolver(monkeypatch, tmp_path):
    for config_class in (NetworkConfig, GeneratorConfig, DiscriminatorConfig, SegNetConfig):
        field = {field.name: field for field in dataclasses.fields(config_class)}["dtype_policy"]
        assert field.default == precision.DEFAULT_DTYPE_POLICY
        assert field_choices(field) == precision.DTYPE_POLICY_CHOICES
    # Jobs default to "auto" and resolve it when made, through the one resolver.
    monkeypatch.setattr(precision, "recommended_dtype_policy", lambda: "mixed_bfloat16")
    gan = TrainConfig(data=GanDataConfig(dataset_dir=str(tmp_path)), runtime=RuntimeConfig(model_dir=str(tmp_path)))
    segnet = SegNetTrainConfig(data=SegNetDataConfig(dataset_dir=str(tmp_path)))
    assert gan.model.dtype_policy == segnet.model.dtype_policy == "mixed_bfloat16"
    generator, discriminator = build_networks("pix2pix", NetworkConfig(
        image_size=32, generator_base_filters=2, generator_depth=5, discriminator_base_filters=2,
        dtype_policy=precision.AUTO_DTYPE_POLICY))
    assert generator.network_config.dtype_policy == discriminator.network_config.dtype_policy == "mixed_bfloat16"


def _main_calls(module: str) -> set[str]:
    tree = ast.parse((REPO / "tf_esgan" / "cli" / f"{module}.py").read_text())
    return {ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Call)}


def test_quiet_means_one_summary_line_per_epoch_for_both_trainers():
    assert quiet_flag.training_verbose(True) == progress.LINES
    assert quiet_flag.training_verbose(False) == progress.BAR
    for module in ("train_gan", "train_segnet"):
        calls = _main_calls(module)
        assert "define_quiet_flag()" in calls and "training_verbose(_QUIET.value)" in calls, module


@pytest.mark.parametrize("module", ["train_gan", "train_segnet"])
def test_quiet_help_is_the_same_for_both_trainers(module):
    result = subprocess.run([sys.executable, "-m", f"tf_esgan.cli.{module}", "--helpshort"],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    flat = " ".join(result.stdout.split())
    assert f"--[no]quiet: {quiet_flag.TRAINING_QUIET_HELP}" in flat
