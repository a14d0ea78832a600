"""esgan-prepare: convert a dataset release (or a StarDist/Cellpose/HoVer-Net set) to the canonical layout.

    esgan-prepare --format=tnbc --source=path/to/TNBC --out_dir=data/tnbc
    esgan-prepare --format=cpm --source=path/to/cpm15 --out_dir=data/cpm15
    esgan-prepare --format=monuseg --source=path/to/MoNuSeg --out_dir=data/monuseg
    esgan-prepare --format=stardist --source=my_stardist_set --out_dir=data/mine   # or cellpose, hovernet

On a terminal a progress bar runs; in a log each converted pair gets a line
("[12/30] 01_2: 512x512, 41 nuclei"). Exit status 1 if any file could not be converted
(the others are still written; the failures are listed at the end).
"""

import functools

from absl import flags

from tf_esgan.cli.app import define_deprecated_alias, run_command
from tf_esgan.cli.quiet_flag import define_quiet_flag
from tf_esgan.console import progress_bar, progress_enabled
from tf_esgan.data.convert import convert_dataset
from tf_esgan.data.source_formats import FORMATS

_FORMAT = flags.DEFINE_enum("format", None, sorted(FORMATS),
                            "Layout of the source: a public release (tnbc, cpm, monuseg) or a training "
                            "set of StarDist, Cellpose or HoVer-Net (or canonical).")
_SOURCE = flags.DEFINE_string("source", None, "Folder of the source dataset.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder; images/ and masks/ are created inside it.")
_QUIET = define_quiet_flag("No progress bar or per-file lines: only the summary.")

define_deprecated_alias("out", "out_dir")
flags.mark_flags_as_required(["format", "source", "out_dir"])


def _print_line(done: int, total: int, message: str) -> None:
    print(f"[{done:>{len(str(total))}}/{total}] {message}", flush=True)


def _advance_bar(bars: dict, done: int, total: int, message: str) -> None:
    del message
    if "bar" not in bars:
        bars["bar"] = progress_bar(total, unit_name="pair")
    bars["bar"].update(done)


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    progress = None
    if not _QUIET.value:
        progress = functools.partial(_advance_bar, {}) if progress_enabled() else _print_line
    summary = convert_dataset(format=_FORMAT.value, source=_SOURCE.value, out=_OUT_DIR.value, progress=progress)
    print(summary.format_report())
    return 1 if summary.failures else 0


def run() -> None:
    run_command(main, "esgan-prepare")


if __name__ == "__main__":
    run()
