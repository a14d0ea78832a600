"""esgan-export: write a generator or SegNet as a TF Serving model version.

    esgan-export --model=runs/enhanced --out_dir=serving_models
    esgan-export --model=generator.keras --variant=enhanced --out_dir=serving_models --version=2
    esgan-export --kind=segnet --model=segnet.keras --out_dir=serving_models
    esgan-export --model=pretrained:tnbc --out_dir=serving_models             # shipped model
    esgan-export --kind=segnet --model=pretrained:tnbc --out_dir=serving_models

Every field of `ExportConfig` (tf_esgan/serving/export_job.py) is a flag of the same name.
Writes `<out_dir>/<model_name>/<version>/` atomically (see tf_esgan/serving/); an
existing version is refused unless --overwrite. Prints the version directory (only it, on
stdout; progress goes to stderr).
"""

import sys

from tf_esgan.cli.app import define_deprecated_alias, run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.serving.export_job import ExportConfig, export_model

_CONFIG_FLAGS = define_config_flags(ExportConfig)  # enum flags: the fields' own choices
define_deprecated_alias("export_base", "out_dir")


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    print(export_model(config_from_flags(_CONFIG_FLAGS), log=lambda message: print(message, file=sys.stderr)))
    return 0


def run() -> None:
    run_command(main, "esgan-export")


if __name__ == "__main__":
    run()
