"""Table 2 on validation slides: SegNets on R, a cross-dataset R, S and S*, several seeds, a curve.

Issue 20, item 2. Every SegNet here trains with the same schedule, crop, width and batch on
one training set, then is scored per image on --validation_dir (TNBC slides 06-07: no SegNet,
generator, preset or choice of this script trained on them; the test slides 01-02 are never
read). Training sets:

- `R`: the real training slides (--train_dir, TNBC 03-05), the paper's own-dataset reading.
- `Rx`: a cross-dataset R (--cross_dir, all of CPM-15): the paper's Sec. 3.3 reading, "R
  contains only real histopathology images from the CPM-15&17 training set".
- `S`: the synthetic set alone (--synthetic_dir).
- `S*`: R + S with --real_fraction of every batch real (0 = pooled per image).

The watershed of every set is tuned on the real training images of --train_dir (`tune_on=
real`; for Rx on CPM-15's). --steps lists stages: a run trains to the first, is scored,
resumes to the next (the SegNet trainer resumes with more epochs), and so on, so the
validation PQ of each set over training is a curve. One JSON line per (set, seed, steps)
with per-image DQ, SQ, PQ, AJI goes to --out; runs in --out are skipped, so a rerun resumes.
--score_only scores finished runs on another folder (the test slides, once, at the end).

Early stopping (`--keep_best`, `--patience`): after each stage the run's model and watershed
are copied to <run>/best when its mean validation PQ beats every earlier stage of that run,
and a run stops after --patience stages without a new best. With --lr_halving_steps the
SegNet's Adam step halves every that many steps (the rate decay a constant 1e-3 lacks).
`--summary --summary_best` compares each run at its best stage; --score_only --keep_best
scores <run>/best. Choosing the stage on the validation slides makes their scores
optimistic by the same selection for every set; the test slides, scored once with
<run>/best, are not touched by it.

--summary prints, for the last stage, mean ± sd over seeds of each set and the paired
per-image difference of every set against R (each image's score averaged over seeds first)
with a percentile bootstrap 95 % interval (`tf_esgan.reproduce.spread.paired_bootstrap_interval`).

  PYTHONPATH=. python benchmarks/table2_validation.py --sets=R,Rx --seeds=0,1,2 \
      --steps=1000,2000,3000 --train_dir=~/esgan-runs/data/tnbc_0305 \
      --validation_dir=~/esgan-runs/data/tnbc_0607 --cross_dir=../shared/datasets/cpm15 \
      --work_dir=~/esgan-runs/table2 --out=benchmarks/results/table2_validation.jsonl
  PYTHONPATH=. python benchmarks/table2_validation.py --summary --out=benchmarks/results/table2_validation.jsonl
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from absl import app, flags

_SETS = flags.DEFINE_list("sets", ["R", "Rx", "S", "S*"], "Training sets (see the docstring).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "SegNet seeds.")
_STEPS = flags.DEFINE_list("steps", ["1000"], "Stages: steps after which each run is scored (increasing).")
_TRAIN = flags.DEFINE_string("train_dir", "~/esgan-runs/data/tnbc_0305", "Real training slides (canonical).")
_VALIDATION = flags.DEFINE_string("validation_dir", "~/esgan-runs/data/tnbc_0607", "Validation slides.")
_CROSS = flags.DEFINE_string("cross_dir", "../shared/datasets/cpm15", "Real images of another dataset (Rx).")
_SYNTHETIC = flags.DEFINE_string("synthetic_dir", "", "Synthetic pairs (canonical; S and S*).")
_SYNTHETIC_NAME = flags.DEFINE_string("synthetic_name", "", "Label of the synthetic set in the records.")
_WORK = flags.DEFINE_string("work_dir", "~/esgan-runs/table2", "Run folders go here (<set>_seed<s>).")
_OUT = flags.DEFINE_string("out", "benchmarks/results/table2_validation.jsonl", "JSONL (appended).")
_REAL_FRACTION = flags.DEFINE_float("real_fraction", 0.5, "S*: share of real crops per batch.")
_AUGMENTATION = flags.DEFINE_string("augmentation", "auto", "auto | on | off (every set alike for on/off).")
_CROP = flags.DEFINE_integer("crop_size", 128, "Training crop side.")
_FILTERS = flags.DEFINE_integer("base_filters", 32, "SegNet width.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Crops per step.")
_SUMMARY = flags.DEFINE_bool("summary", False, "Only print the summary of --out.")
_SUMMARY_STEPS = flags.DEFINE_integer("summary_steps", 0, "Stage the summary table compares; 0 = the "
                                      "stage with the most runs (the largest on a tie).")
_FIGURE = flags.DEFINE_string("figure", "", "Only draw this PNG: each --validation_dir image (rows) with its "
                               "true outlines and those of seed --seeds[0]'s SegNet of each of --sets.")
_TRAINED = flags.DEFINE_string("trained_records", "", "--figure, --score_only: the JSONL the runs were "
                                "trained and scored into (default --out); its last stage of a run is what "
                                "the run's segnet.keras holds (config.json already names a stage that was "
                                "started and stopped).")
_CURVE_FIGURE = flags.DEFINE_string("curve_figure", "", "Only draw this PNG from --out: validation PQ and AJI of "
                                    "every run over its stages (the best stage of each run marked).")
_SCORE_ONLY = flags.DEFINE_bool("score_only", False, "Train nothing: score the finished runs of --sets and "
                                "--seeds (their last stage, --steps' largest) on --validation_dir; for the one "
                                "final look at the test slides after every choice was fixed.")

_LR_HALVING = flags.DEFINE_integer("lr_halving_steps", 0, "SegNet: halve Adam's step every this many steps "
                                   "(0 = constant 1e-3).")
_KEEP_BEST = flags.DEFINE_bool("keep_best", False, "Copy each run's best stage on validation PQ to <run>/best "
                               "(--score_only: score <run>/best).")
_PATIENCE = flags.DEFINE_integer("patience", 0, "Stop a run after this many stages without a new best "
                                 "validation PQ (0 = train every stage).")
_SUMMARY_BEST = flags.DEFINE_bool("summary_best", False, "--summary: each run at its best stage (validation PQ).")

_EPOCH = flags.DEFINE_integer("epoch_steps", 100, "SegNet steps per epoch; every stage is a multiple of it "
                              "(a run resumes only with the value it started with).")
_DTYPE = flags.DEFINE_string("dtype_policy", "auto", "SegNet precision: auto (esgan-train-segnet's default: "
                             "mixed_bfloat16 on a bfloat16 CPU, else float32), float32 or mixed_bfloat16. Runs "
                             "before this flag trained in float32 (SegNetConfig's own default).")

BEST_DIR = "best"

_SET_ARGS = {"R": dict(train_set="R"), "Rx": dict(train_set="R"), "S": dict(train_set="S"),
             "S*": dict(train_set="S*")}


def _config(name: str, seed: int, steps: int):
    from tf_esgan.models.segnet import SegNetConfig
    from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainConfig, SegNetTrainerConfig

    extra = dict(_SET_ARGS[name])
    if name == "Rx":
        extra["real_train_dir"] = str(Path(_CROSS.value).expanduser())
    if name in ("S", "S*"):
        if not _SYNTHETIC.value:
            raise app.UsageError(f"--sets={name} needs --synthetic_dir")
        extra["synthetic_dir"] = str(Path(_SYNTHETIC.value).expanduser())
    if name == "S*":
        extra["real_fraction"] = _REAL_FRACTION.value
    return SegNetTrainConfig(
        data=SegNetDataConfig(dataset_dir=str(Path(_TRAIN.value).expanduser()), crop_size=_CROP.value,
                              test_fraction=0.0, augmentation=_AUGMENTATION.value, **extra),
        model=SegNetConfig(base_filters=_FILTERS.value, dtype_policy=_DTYPE.value),
        trainer=SegNetTrainerConfig(epochs=steps // _EPOCH.value, steps_per_epoch=_EPOCH.value, batch_size=_BATCH.value,
                                    seed=seed, lr_halving_steps=_LR_HALVING.value))


def _trained_dtype_policy(folder: Path) -> str:
    """The precision the run in `folder` (or its parent, for <run>/best) trained in, from its config.json."""
    from tf_esgan.segmentation.train_config import SegNetTrainConfig

    run = folder.parent if folder.name == BEST_DIR else folder
    try:  # the trainer's own reader: nested or flat (older) config.json alike
        return SegNetTrainConfig.from_json_dict(json.loads((run / "config.json").read_text())).model.dtype_policy
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


def _run_records(records: list[dict], name: str, seed: int) -> list[dict]:
    return sorted((r for r in records if (r["set"], r["seed"]) == (name, seed)), key=lambda r: r["steps"])


def best_stage(records: list[dict]) -> dict:
    """The record with the highest mean validation PQ (the earliest on a tie)."""
    return max(sorted(records, key=lambda r: r["steps"]), key=lambda r: r["mean_pq"])


def stages_without_improvement(records: list[dict]) -> int:
    """How many stages, counted from the last one back, came after the best one."""
    ordered = sorted(records, key=lambda r: r["steps"])
    return len(ordered) - 1 - ordered.index(best_stage(ordered))


def _copy_best(folder: Path) -> None:
    """<folder>/best := the run's current model and watershed (a complete copy replaces the old one)."""
    import shutil

    from tf_esgan.pretrained.segnet_loading import MODEL_FILE, WATERSHED_FILE

    partial, best = folder / f".partial-{BEST_DIR}", folder / BEST_DIR
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for name in (MODEL_FILE, WATERSHED_FILE):
        shutil.copy2(folder / name, partial / name)
    if best.exists():
        shutil.rmtree(best)
    partial.rename(best)


def _per_image_scores(folder: Path, validation: Path) -> dict:
    from tf_esgan.data.datasets import list_samples, load_pair
    from tf_esgan.metrics import segmentation as seg_metrics
    from tf_esgan.segmentation.scoring import load_segmenter

    segment = load_segmenter(folder)
    scores = {}
    for sample in list_samples(validation):
        image, truth = load_pair(sample)
        counts = seg_metrics.instance_counts(truth, segment(image))
        dq, sq, pq = seg_metrics._pq_from_counts(counts.tp, counts.fp, counts.fn, counts.iou_sum)
        aji = seg_metrics._aji_from_counts(counts.aji_intersection, counts.aji_union)
        scores[sample.id] = {"dq": dq, "sq": sq, "pq": pq, "aji": aji, "tp": counts.tp, "fp": counts.fp,
                             "fn": counts.fn}
    return scores


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _summary(records: list[dict]) -> str:
    from tf_esgan.reproduce.spread import format_mean_sd, paired_bootstrap_interval

    lines = []
    counts = {}
    for record in records:
        counts[record["steps"]] = counts.get(record["steps"], 0) + 1
    last = _SUMMARY_STEPS.value or max(counts, key=lambda steps: (counts[steps], steps))
    if _SUMMARY_BEST.value:
        runs = {(r["set"], r["seed"]) for r in records}
        final = [best_stage(_run_records(records, *run)) for run in sorted(runs)]
        lines.append("Validation slides, each SegNet at its best stage on validation PQ (mean ± sd over seeds; "
                     "per-image mean; stages: " + ", ".join(f"{r['set']}{r['seed']} {r['steps']}" for r in final) + ")\n")
    else:
        final = [r for r in records if r["steps"] == last]
        lines.append(f"Validation slides, SegNet after {last} steps (mean ± sd over seeds; per-image mean)\n")
    lines.append("| set | seeds | DQ | SQ | PQ | AJI | PQ − R [95 % CI] | AJI − R [95 % CI] |")
    lines.append("|---|---|---|---|---|---|---|---|")
    by_set: dict[str, list[dict]] = {}
    for record in final:
        by_set.setdefault(record["set"], []).append(record)

    def image_means(runs: list[dict], key: str) -> dict:
        images = sorted(runs[0]["images"])
        return {i: float(np.nanmean([run["images"][i][key] for run in runs])) for i in images}

    for name, runs in by_set.items():
        runs = sorted(runs, key=lambda r: r["seed"])
        cells = [format_mean_sd([float(np.nanmean([v[k] for v in r["images"].values()])) for r in runs])
                 for k in ("dq", "sq", "pq", "aji")]
        differences = []
        for key in ("pq", "aji"):
            if name == "R" or "R" not in by_set:
                differences.append("")
                continue
            mine, reference = image_means(runs, key), image_means(by_set["R"], key)
            mean, low, high = paired_bootstrap_interval([mine[i] - reference[i] for i in mine])
            differences.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
        lines.append(f"| {name} | {','.join(str(r['seed']) for r in runs)} | " + " | ".join(cells + differences) + " |")
    curve = {}
    for record in records:
        pq = float(np.nanmean([v["pq"] for v in record["images"].values()]))
        curve.setdefault(record["set"], {}).setdefault(record["steps"], []).append(pq)
    lines.append("\nValidation PQ over training (mean over seeds):\n")
    for name, points in curve.items():
        lines.append(f"- {name}: " + ", ".join(f"{steps}: {np.mean(v):.3f} (n={len(v)})"
                                               for steps, v in sorted(points.items())))
    return "\n".join(lines)


def _trained_steps(name: str, seed: int) -> int:
    """The stage the run's segnet.keras holds: its last one scored in --trained_records."""
    steps = [r["steps"] for r in _records(Path(_TRAINED.value or _OUT.value)) if (r["set"], r["seed"]) == (name, seed)]
    if not steps:
        raise app.UsageError(f"{name} seed {seed}: no finished stage in {_TRAINED.value or _OUT.value}")
    return max(steps)


def _figure(path: Path) -> None:
    from tf_esgan.data.datasets import list_samples, load_pair
    from tf_esgan.segmentation.scoring import load_segmenter
    from tf_esgan.viz.panel_grid import save_panel_grid
    from tf_esgan.viz.synthetic_pairs import outline_overlay

    seed = int(_SEEDS.value[0])
    segmenters = {name: load_segmenter(Path(_WORK.value).expanduser() / f"{name.replace('*', '_star')}_seed{seed}")
                  for name in _SETS.value}
    rows = []
    for sample in list_samples(Path(_VALIDATION.value).expanduser()):
        image, truth = load_pair(sample)
        rows.append((sample.id, [outline_overlay(image, truth)] +
                     [outline_overlay(image, segment(image)) for segment in segmenters.values()]))
    save_panel_grid(rows, ["truth"] + [f"{name}, seed {seed}, {_trained_steps(name, seed)} steps"
                                       for name in segmenters], path)
    print(f"wrote {path}")


def _curve_figure(records: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted({(r["set"], r["seed"]) for r in records})
    colours = {name: colour for name, colour in zip(sorted({name for name, _ in runs}), ("C0", "C3", "C2", "C1"))}
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, seed in runs:
        mine = _run_records(records, name, seed)
        best = best_stage(mine)
        for axis, key in zip(axes, ("mean_pq", "mean_aji")):
            axis.plot([r["steps"] for r in mine], [r[key] for r in mine], color=colours[name],
                      linestyle=("-", "--", ":", "-.")[seed % 4], marker=".", label=f"{name} seed {seed}")
            axis.plot([best["steps"]], [best[key]], color=colours[name], marker="o", markersize=8,
                      markerfacecolor="none")
    for axis, key in zip(axes, ("PQ", "AJI")):
        axis.set_xlabel("SegNet steps")
        axis.set_ylabel(f"validation {key} (mean over images)")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle("Table 2 on validation slides: each run's curve, its best stage circled")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv: list[str]) -> None:
    del argv
    out = Path(_OUT.value)
    if _CURVE_FIGURE.value:
        _curve_figure(_records(out), Path(_CURVE_FIGURE.value))
        return
    if _SUMMARY.value:
        print(_summary(_records(out)))
        return
    if _FIGURE.value:
        _figure(Path(_FIGURE.value))
        return
    from tf_esgan.segmentation.train import train_segnet

    validation = Path(_VALIDATION.value).expanduser()
    stages = sorted(int(s) for s in _STEPS.value)
    for name in _SETS.value:
        if name not in _SET_ARGS:
            raise app.UsageError(f"--sets: {name!r} is not one of {sorted(_SET_ARGS)}")
    for seed in (int(s) for s in _SEEDS.value):
        for name in _SETS.value:
            folder = Path(_WORK.value).expanduser() / f"{name.replace('*', '_star')}_seed{seed}"
            for steps in stages:
                if steps % _EPOCH.value:
                    raise app.UsageError(f"--steps: {steps} is not a multiple of {_EPOCH.value}")
                mine = _run_records(_records(out), name, seed)
                if steps in {r["steps"] for r in mine}:
                    continue
                if (not _SCORE_ONLY.value and _PATIENCE.value and mine
                        and stages_without_improvement(mine) >= _PATIENCE.value):
                    print(f"{name} seed {seed}: stopped early, best at {best_stage(mine)['steps']} steps", flush=True)
                    break
                started = time.time()
                if _SCORE_ONLY.value:
                    if steps != stages[-1]:
                        continue
                    if _KEEP_BEST.value:
                        folder = folder / BEST_DIR
                    elif _trained_steps(name, seed) != steps:
                        raise app.UsageError(f"{folder} holds the model of step {_trained_steps(name, seed)}, "
                                             f"not {steps}")
                else:
                    train_segnet(_config(name, seed, steps), folder, verbose=0)
                images = _per_image_scores(folder, validation)
                record = {"set": name, "seed": seed, "steps": steps, "crop_size": _CROP.value,
                          "base_filters": _FILTERS.value, "batch_size": _BATCH.value,
                          "augmentation": _AUGMENTATION.value, "lr_halving_steps": _LR_HALVING.value,
                          "dtype_policy": _trained_dtype_policy(folder),
                          "model": folder.name if folder.name == BEST_DIR else "last",
                          "best_steps": (best_stage(_run_records(_records(Path(_TRAINED.value or _OUT.value)), name, seed))["steps"]
                                         if folder.name == BEST_DIR else None),
                          "real_fraction": _REAL_FRACTION.value if name == "S*" else None,
                          "train_dir": Path(_TRAIN.value).name,
                          "cross_dir": Path(_CROSS.value).name if name == "Rx" else None,
                          "synthetic": (_SYNTHETIC_NAME.value or Path(_SYNTHETIC.value).name) if name in ("S", "S*") else None,
                          "validation_dir": validation.name, "seconds": round(time.time() - started),
                          "mean_pq": float(np.nanmean([v["pq"] for v in images.values()])),
                          "mean_aji": float(np.nanmean([v["aji"] for v in images.values()])),
                          "images": images}
                if _KEEP_BEST.value and not _SCORE_ONLY.value and (
                        not mine or record["mean_pq"] > best_stage(mine)["mean_pq"]):
                    _copy_best(folder)
                    record["best_copied"] = True
                with open(out, "a") as stream:
                    stream.write(json.dumps(record) + "\n")
                print(json.dumps({k: v for k, v in record.items() if k != "images"}), flush=True)
    print(_summary(_records(out)))


if __name__ == "__main__":
    app.run(main)
