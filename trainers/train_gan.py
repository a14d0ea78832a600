"""Trains a GAN variant from a source checkout: the same job as `esgan-train`.

    python trainers/train_gan.py --flagfile=runs/enhanced.flags
    python trainers/train_gan.py --dataset_dir=data/tnbc --model_dir=runs/enhanced --variant=enhanced

Only runs the package's entry point (`tf_esgan.cli.train_gan`); flags, config and training
live there and in `tf_esgan/training/`. Needs `tf_esgan` importable (`pip install .`, or
`PYTHONPATH=.` in the checkout); this folder is not installed.
"""

from tf_esgan.cli.train_gan import run

if __name__ == "__main__":
    run()
