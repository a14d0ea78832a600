"""esgan-prepare: convert an original dataset release to the canonical layout.

    esgan-prepare --format=tnbc --source=path/to/TNBC --out=data/tnbc
    esgan-prepare --format=cpm --source=path/to/cpm15 --out=data/cpm15
    esgan-prepare --format=monuseg --source=path/to/MoNuSeg --out=data/monuseg

Exit status 1 if any file could not be converted (the others are still written).
"""


from absl import flags

from tf_esgan.cli.app import run_command

from tf_esgan.data.convert import convert_dataset
from tf_esgan.data.source_formats import FORMATS

_FORMAT = flags.DEFINE_enum("format", None, sorted(FORMATS),
                            "Layout of the original release.")
_SOURCE = flags.DEFINE_string("source", None, "Folder of the original release.")
_OUT = flags.DEFINE_string("out", None,
                           "Output folder; images/ and masks/ are created inside it.")
_QUIET = flags.DEFINE_bool("quiet", False, "Print only the summary, not per-file progress.")

flags.mark_flags_as_required(["format", "source", "out"])


def _print_progress(done: int, total: int, message: str) -> None:
    print(f"[{done:>{len(str(total))}}/{total}] {message}", flush=True)


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    summary = convert_dataset(format=_FORMAT.value, source=_SOURCE.value, out=_OUT.value,
                              progress=None if _QUIET.value else _print_progress)
    print(summary.format_report())
    return 1 if summary.failures else 0


def run() -> None:
    run_command(main, "esgan-prepare")


if __name__ == "__main__":
    run()
