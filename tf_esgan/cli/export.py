"""esgan-export: write a generator or SegNet as a TF Serving model version.

    esgan-export --model=runs/enhanced --out_dir=serving_models
    esgan-export --model=generator.keras --variant=enhanced --out_dir=serving_models --version=2
    esgan-export --kind=segnet --model=segnet.keras --out_dir=serving_models
    esgan-export --model=pretrained:tnbc --out_dir=serving_models             # shipped model
    esgan-export --kind=segnet --model=pretrained:tnbc --out_dir=serving_models

Writes `<out_dir>/<model_name>/<version>/` atomically (see tf_esgan/serving/); an
existing version is refused unless --overwrite. Prints the version directory (only it, on
stdout; progress goes to stderr).
"""

import sys
from pathlib import Path

from absl import flags

from tf_esgan.cli.app import define_deprecated_alias, fail, run_command
from tf_esgan.errors import ConfigError
from tf_esgan.io_utils import ensure_writable_dir

from tf_esgan import serving
from tf_esgan.models.variants import VARIANTS, get_variant
from tf_esgan.pretrained.registry import pretrained_name
from tf_esgan.runs.generator_loading import load_generator, load_keras_model
from tf_esgan.runs.segnet_loading import load_segnet
from tf_esgan.serving import generator_export, segnet_export

_KIND = flags.DEFINE_enum("kind", "generator", ["generator", "segnet"], "Which network to export.")
_MODEL = flags.DEFINE_string(
    "model", None, "pretrained:NAME (a model shipped in the package), a `.keras` file, or a "
    "training run folder (generator: config.json + checkpoints/, the newest readable checkpoint "
    "is exported; segnet: an esgan-train-segnet run with segnet.keras).")
_VARIANT = flags.DEFINE_enum(
    "variant", None, sorted(VARIANTS),
    "Variant the generator was trained as (sets the conditioning map of `from_mask`). "
    "Required with a `.keras` generator; read from config.json or the pretrained record otherwise.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "TF Serving base folder (one folder per model, one per version inside).")
_MODEL_NAME = flags.DEFINE_string("model_name", None,
                                  "Served model name; default esgan_generator or segnet.")
_VERSION = flags.DEFINE_integer("version", None, "Version number; default: largest existing + 1.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing version.")

define_deprecated_alias("export_base", "out_dir")
flags.mark_flags_as_required(["model", "out_dir"])


def _export(model: str):
    options = dict(version=_VERSION.value, overwrite=_OVERWRITE.value)
    if _KIND.value == "segnet":
        segnet, _ = load_segnet(model)
        return serving.export_segnet(segnet, _OUT_DIR.value, **options,
                                     model_name=_MODEL_NAME.value or segnet_export.DEFAULT_MODEL_NAME)
    if pretrained_name(model) is not None or Path(model).is_dir():
        generator, conditioning = load_generator(model, log=lambda message: print(message, file=sys.stderr))
        if _VARIANT.value and get_variant(_VARIANT.value).conditioning != conditioning:
            raise ConfigError(f"--variant={_VARIANT.value} disagrees with {model} (conditioning {conditioning!r})")
    else:
        if not _VARIANT.value:
            fail("esgan-export", "--variant is required to export a `.keras` generator")
        generator = load_keras_model(model)
        conditioning = get_variant(_VARIANT.value).conditioning
    return serving.export_generator(generator, _OUT_DIR.value, conditioning=conditioning, **options,
                                    model_name=_MODEL_NAME.value or generator_export.DEFAULT_MODEL_NAME)


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    ensure_writable_dir(_OUT_DIR.value, "--out_dir")  # before the model is loaded
    version_dir = _export(_MODEL.value)
    print(version_dir)
    return 0


def run() -> None:
    run_command(main, "esgan-export")


if __name__ == "__main__":
    run()
