"""Exports a generator or SegNet for TF Serving from a source checkout: the same job as `esgan-export`.

    python export/export.py --model=runs/enhanced --out_dir=serving_models
    python export/export.py --kind=segnet --model=runs/segnet_r --out_dir=serving_models

Writes `<out_dir>/<model_name>/<version>/`, the layout `serving/docker-compose.yml` serves.
Only runs the package's entry point (`tf_esgan.cli.export`); the export code is
`tf_esgan/serving/`. Needs `tf_esgan` importable (`pip install .`, or `PYTHONPATH=.` in
the checkout); this folder is not installed.
"""

from tf_esgan.cli.export import run

if __name__ == "__main__":
    run()
