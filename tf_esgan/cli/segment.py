"""esgan-segment: nuclei instance segmentation of your own H&E images, any size.

    esgan-segment --model=pretrained:tnbc --input=my_slides/ --out_dir=segmented
    esgan-segment --model=runs/segnet_s_star --out_dir=segmented a.png b.tif

Writes <out_dir>/labels/<stem>.png (16-bit instance labels, 0 = background, 1..N),
<out_dir>/overlays/<stem>.png (outlines over the image), <out_dir>/nuclei.csv (count and
mean/median area per image) and <out_dir>/nuclei_per_instance.csv (area and centroid per
nucleus). A file that cannot be read is named on stderr and skipped; the exit status is
then 1 (the others are still done), else 0.
"""

import sys

from absl import flags

from tf_esgan.cli.app import build_config, run_command

from tf_esgan.segmentation.segment_images import SegmentConfig, segment_images
from tf_esgan.segmentation.tiled_prediction import DEFAULT_MARGIN, DEFAULT_TILE_SIZE

_MODEL = flags.DEFINE_string("model", None, "pretrained:NAME, or an esgan-train-segnet run folder.")
_INPUT = flags.DEFINE_multi_string("input", [], "Image file or folder (repeatable; file names after the "
                                   "flags are inputs too).")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder: labels/, overlays/, nuclei.csv.")
_TILE_SIZE = flags.DEFINE_integer("tile_size", DEFAULT_TILE_SIZE,
                                  "Images with a side above this are segmented in overlapping tiles "
                                  "(multiple of 32).")
_TILE_MARGIN = flags.DEFINE_integer("tile_margin", DEFAULT_MARGIN, "Context pixels dropped on each tile side.")
_QUIET = flags.DEFINE_bool("quiet", False, "No progress bar (there is none when stdout is not a terminal).")

flags.mark_flags_as_required(["model", "out_dir"])


def main(argv: list[str]) -> int:
    config = build_config(SegmentConfig, model=_MODEL.value, inputs=(*_INPUT.value, *argv[1:]),
                          out_dir=_OUT_DIR.value, tile_size=_TILE_SIZE.value, tile_margin=_TILE_MARGIN.value)
    summary = segment_images(config, verbose=0 if _QUIET.value else 1,
                             warn=lambda line: print(f"esgan-segment: {line}", file=sys.stderr, flush=True))
    return 1 if summary.skipped else 0


def run() -> None:
    run_command(main, "esgan-segment", positional_arguments=True)


if __name__ == "__main__":
    run()
