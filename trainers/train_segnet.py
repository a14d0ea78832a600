"""Trains SegNet (+ watershed tuning) from a source checkout: the same job as `esgan-train-segnet`.

    python trainers/train_segnet.py --flagfile=runs/segnet_r.flags
    python trainers/train_segnet.py --train_set=R --dataset_dir=data/tnbc --model_dir=runs/segnet_r

Only runs the package's entry point (`tf_esgan.cli.train_segnet`); flags, config and
training live there and in `tf_esgan/segmentation/`. Needs `tf_esgan` importable
(`pip install .`, or `PYTHONPATH=.` in the checkout); this folder is not installed.
"""

from tf_esgan.cli.train_segnet import run

if __name__ == "__main__":
    run()
