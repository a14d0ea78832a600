"""S* with a fixed share of real crops: an exploratory row beside Table 2.

`esgan-reproduce` builds S* as the union of the real training images and the synthetic
set, sampled uniformly per image: with 23 real TNBC images and 1,000 synthetic pairs,
~98% of S*'s crops are synthetic. This script retrains the S* SegNet of finished
reproduction seeds with the real images repeated so that they make up --real_fraction of
the samples (the same budget, augmentation, seeds and held-out split otherwise) and
scores it on the held-out slides. The repeat is done with symlinks in a scratch folder
passed as the synthetic set, so the trainer is unchanged.

It was written after seeing S* < R on the held-out slides of seed 0, so its numbers are
exploratory (chosen by looking at the test slides), not a tuned result.

  python benchmarks/s_star_mix.py --run_dir=runs/tnbc_cpu --seeds=0,1 --real_fraction=0.5
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from absl import app, flags

_RUN_DIR = flags.DEFINE_string("run_dir", "runs/tnbc_cpu", "An esgan-reproduce out_dir (budget, dataset from it).")
_SEEDS = flags.DEFINE_list("seeds", ["0"], "Finished seeds of that run.")
_REAL_FRACTION = flags.DEFINE_float("real_fraction", 0.5, "Share of real images among S*'s samples.")


def _link_folder(folder: Path, real, synthetic, repeats: int) -> None:
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for sample in synthetic:
        for sub, path in (("images", sample.image_path), ("masks", sample.mask_path)):
            target = folder / sub / Path(path).name
            if not target.exists():
                os.symlink(Path(path).resolve(), target)
    for copy in range(repeats):
        for sample in real:
            for sub, path in (("images", sample.image_path), ("masks", sample.mask_path)):
                target = folder / sub / f"real{copy:03d}_{Path(path).name}"
                if not target.exists():
                    os.symlink(Path(path).resolve(), target)


def main(argv):
    del argv
    import keras

    from tf_esgan.data.datasets import list_samples, split_samples_by_group
    from tf_esgan.reproduce.budgets import budget_from_flat_dict, get_budget
    from tf_esgan.reproduce.pipeline import ReproduceConfig, _segnet_config
    from tf_esgan.pretrained.segnet_loading import MODEL_FILE, WATERSHED_FILE, load_watershed_config
    from tf_esgan.segmentation.scoring import evaluate_samples
    from tf_esgan.segmentation.train import train_segnet

    run_dir = Path(_RUN_DIR.value)
    top = json.loads((run_dir / "config.json").read_text())
    base = ReproduceConfig(**{k: v for k, v in top["run"].items() if k in {f.name for f in dataclasses.fields(ReproduceConfig)}})
    budget = top["budget"] if isinstance(top["budget"], dict) else None
    budget = budget_from_flat_dict(budget) if budget else get_budget(base.budget)
    train, test = split_samples_by_group(list_samples(base.dataset_dir), test_fraction=base.test_fraction,
                                         seed=base.data_split_seed)
    results = {}
    for seed in map(int, _SEEDS.value):
        seed_dir = run_dir / f"seed_{seed}"
        config = dataclasses.replace(base, seed=seed, seeds=1, split_seed=base.data_split_seed, out_dir=str(seed_dir))
        synthetic = list_samples(seed_dir / "synthetic")
        fraction = _REAL_FRACTION.value
        # S* adds the real images once itself; the folder holds the other copies.
        repeats = max(0, round(fraction / (1 - fraction) * len(synthetic) / len(train)) - 1)
        folder = seed_dir / f"s_star_real{int(round(fraction * 100))}"
        _link_folder(folder / "data", train, synthetic, repeats)
        segnet_config = _segnet_config(config, budget, "S*")
        segnet_config = dataclasses.replace(
            segnet_config, data=dataclasses.replace(segnet_config.data, synthetic_dir=str(folder / "data")))
        train_segnet(segnet_config, folder / "segnet", verbose=0)
        model = keras.models.load_model(folder / "segnet" / MODEL_FILE, compile=False)
        scores = dataclasses.asdict(evaluate_samples(model, test, load_watershed_config(folder / "segnet" / WATERSHED_FILE)))
        real_share = (repeats + 1) * len(train) / ((repeats + 1) * len(train) + len(synthetic))
        results[seed] = {"real_share": round(real_share, 4), "repeats": repeats + 1, **scores}
        (folder / "scores.json").write_text(json.dumps(results[seed], indent=2) + "\n")
        print(json.dumps({"seed": seed, **{k: round(v, 4) if isinstance(v, float) else v
                                          for k, v in results[seed].items()}}), flush=True)


if __name__ == "__main__":
    app.run(main)
