"""esgan-segment: nuclei instance segmentation of your own H&E images, any size.

    esgan-segment --model=pretrained:tnbc --input=my_slides/ --out_dir=segmented
    esgan-segment --model=runs/segnet_s_star --out_dir=segmented a.png b.tif

Writes <out_dir>/labels/<stem>.png (16-bit instance labels, 0 = background, 1..N),
<out_dir>/overlays/<stem>.png (outlines over the image), <out_dir>/nuclei.csv (count and
mean/median area per image) and <out_dir>/nuclei_per_instance.csv (area and centroid per
nucleus). A file that cannot be read, or is grayscale (SegNet needs the H&E colours), is
named on stderr and skipped; the exit status is then 1 (the others are still done), else
0. A missing input, an unwritable --out_dir or a full disk: one error line, status 2.
"""

import sys

from absl import flags

from tf_esgan.cli.app import run_command
from tf_esgan.cli.quiet_flag import define_quiet_flag
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.segmentation.segment_images import SegmentConfig, segment_images

# Every SegmentConfig field but `inputs` is a flag of the same name (see config_flags).
_CONFIG_FLAGS = define_config_flags(SegmentConfig, exclude=("inputs",))
_INPUT = flags.DEFINE_multi_string("input", [], "Image file or folder (repeatable; file names after the "
                                   "flags are inputs too).")
_QUIET = define_quiet_flag("No progress bar (there is none when stdout is not a terminal): only the summary "
                           "lines.")


def main(argv: list[str]) -> int:
    config = config_from_flags(_CONFIG_FLAGS, inputs=(*_INPUT.value, *argv[1:]))
    summary = segment_images(config, verbose=0 if _QUIET.value else 1,
                             warn=lambda line: print(f"esgan-segment: {line}", file=sys.stderr, flush=True))
    return 1 if summary.skipped else 0


def run() -> None:
    run_command(main, "esgan-segment", positional_arguments=True)


if __name__ == "__main__":
    run()
