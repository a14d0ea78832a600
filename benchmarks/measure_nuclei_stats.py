"""Measures nucleus size, density and contact statistics of the real masks and the presets.

Usage:
  python benchmarks/measure_nuclei_stats.py [--datasets DIR] [--synthetic N]
                                           [--tnbc_slides 03,04,05,06,07]

Prints JSON: for each dataset (and CPM-15 split by magnification), the summary of
`tf_esgan.data.label_stats.measure_tiles` over 256 x 256 crops of its masks; with
--synthetic N > 0, the same summary of N masks of the matching preset, for comparison.
These are the numbers the presets in `tf_esgan.data.masks.PRESETS` are fitted to.
--tnbc_slides restricts TNBC to the masks of the listed slides (the file-name prefix
before "_"), so that a preset is fitted without reading held-out test slides.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from tf_esgan.data.image_io import read_mask
from tf_esgan.data.label_stats import measure_label_stats, measure_tiles, summarise_stats
from tf_esgan.data.masks import random_nuclei_labels

# CPM-15 mixes magnifications; datasets/cpm15/README.md lists image01-07 as 20x and
# image08-15 as 40x. TNBC and MoNuSeg are 40x throughout.
CPM15_20X_IDS = ("image01", "image02", "image03", "image04", "image05", "image06", "image07")

# (name, dataset folder, which mask ids, preset fitted to it)
GROUPS = (
    ("tnbc", "tnbc", None, "tnbc"),
    ("cpm15_40x", "cpm15", lambda name: name not in CPM15_20X_IDS, "cpm15"),
    ("cpm15_20x", "cpm15", lambda name: name in CPM15_20X_IDS, "cpm15_20x"),
    ("cpm15_all", "cpm15", None, None),
    ("monuseg", "monuseg", None, "monuseg"),
)


def default_datasets_dir() -> Path:
    shared = Path(os.environ.get("ESGAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    return shared / "datasets"


def mask_paths(datasets_dir: Path, folder: str, keep=None) -> list[Path]:
    paths = sorted((datasets_dir / folder / "masks").glob("*.png"))
    if not paths:
        raise SystemExit(f"no masks found in {datasets_dir / folder / 'masks'}")
    return [path for path in paths if keep is None or keep(path.stem)]


def slide_filter(slides: str | None):
    """Keeps the masks `<slide>_<n>` of the comma-separated `slides`; None keeps all."""
    if slides is None:
        return None
    wanted = {slide.strip() for slide in slides.split(",") if slide.strip()}
    if not wanted:
        raise SystemExit(f"--tnbc_slides: expected slide ids such as 03,04, got {slides!r}")
    return lambda name: name.split("_")[0] in wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=default_datasets_dir(),
                        help="folder holding tnbc/, cpm15/, monuseg/ (default ../shared/datasets)")
    parser.add_argument("--synthetic", type=int, default=500,
                        help="synthetic masks per preset to measure (0 = none)")
    parser.add_argument("--tnbc_slides", default=None,
                        help="comma-separated TNBC slides to measure, e.g. 03,04,05,06,07 "
                             "(default all)")
    args = parser.parse_args()
    tnbc_keep = slide_filter(args.tnbc_slides)
    report = {}
    for name, folder, keep, preset in GROUPS:
        restricted = name == "tnbc" and tnbc_keep is not None
        paths = mask_paths(args.datasets, folder, tnbc_keep if restricted else keep)
        if restricted and not paths:
            raise SystemExit(f"--tnbc_slides: no mask of slides {args.tnbc_slides!r} "
                             f"in {args.datasets / folder / 'masks'}")
        entry = {"images": len(paths),
                 "real": measure_tiles(read_mask(path) for path in paths)}
        if restricted:
            entry["slides"] = sorted({path.stem.split("_")[0] for path in paths})
        if preset is not None and args.synthetic > 0:
            rng = np.random.default_rng(0)
            entry["preset"] = preset
            entry["synthetic"] = summarise_stats(
                [measure_label_stats(random_nuclei_labels(rng=rng, preset=preset))
                 for _ in range(args.synthetic)])
        report[name] = entry
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
