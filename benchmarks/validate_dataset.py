"""Speed of the dataset check the trainers run before training (`datasets.check_samples`).

    python benchmarks/validate_dataset.py [--pairs=6000] [--decode_pairs=300]

Builds, in a temporary folder, a canonical dataset of --pairs pairs: copies of the four
256x256 demo crops (real TNBC H&E, 8-bit RGB PNG, ~150 KB; 16-bit label PNG), the size
of a synthetic S set. Times, warm page cache (the files were just written):
  - `list_samples` (the listing every job does anyway);
  - `check_samples`: PNG signature, IHDR, chunk headers up to IDAT and the IEND tail of
    every file (what the trainers run);
  - `validate`: listing + the same checks;
  - a full decode of every pair (`load_pair`, what `validate` did before), on
    --decode_pairs pairs, extrapolated to --pairs;
and `check_samples` once more with a cold cache: the dataset's pages are dropped from
the page cache first (sync, then posix_fadvise DONTNEED per file; only these files).
Prints one JSON line with the seconds, ms per pair and the load average.
"""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from absl import app, flags

_PAIRS = flags.DEFINE_integer("pairs", 6000, "Pairs in the generated dataset.")
_DECODE_PAIRS = flags.DEFINE_integer("decode_pairs", 300, "Pairs fully decoded for the comparison.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats of the fast checks (the best is reported).")


def _build(root: Path, pairs: int) -> int:
    from tf_esgan.data.datasets import list_samples, sample_root

    sources = list_samples(sample_root())
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    total_bytes = 0
    for index in range(pairs):
        source = sources[index % len(sources)]
        shutil.copyfile(source.image_path, root / "images" / f"{index:05d}.png")
        shutil.copyfile(source.mask_path, root / "masks" / f"{index:05d}.png")
        total_bytes += source.image_path.stat().st_size + source.mask_path.stat().st_size
    return total_bytes


def _best_of(repeats: int, function) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def _drop_from_page_cache(root: Path) -> None:
    os.sync()  # dirty pages are not dropped
    for path in root.rglob("*.png"):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


def main(argv):
    from tf_esgan.data.datasets import check_samples, list_samples, load_pair, validate

    pairs = _PAIRS.value
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "dataset"
        total_bytes = _build(root, pairs)
        samples = list_samples(root)
        assert len(samples) == pairs
        listing = _best_of(_REPEATS.value, lambda: list_samples(root))
        checking = _best_of(_REPEATS.value, lambda: check_samples(samples, source=root, crop_size=256))
        validating = _best_of(_REPEATS.value, lambda: validate(root))
        decoded = samples[:: max(1, pairs // _DECODE_PAIRS.value)][:_DECODE_PAIRS.value]
        started = time.perf_counter()
        for sample in decoded:
            load_pair(sample)
        decode_per_pair = (time.perf_counter() - started) / len(decoded)
        _drop_from_page_cache(root)
        started = time.perf_counter()
        check_samples(samples, source=root, crop_size=256)
        cold = time.perf_counter() - started
    results = {
        "pairs": pairs, "files": 2 * pairs, "dataset_mb": round(total_bytes / 2**20),
        "list_samples_s": round(listing, 3),
        "check_samples_s": round(checking, 3), "check_ms_per_pair": round(1000 * checking / pairs, 4),
        "check_samples_cold_cache_s": round(cold, 3),
        "validate_s": round(validating, 3),
        "full_decode_ms_per_pair": round(1000 * decode_per_pair, 2),
        "full_decode_s_extrapolated": round(decode_per_pair * pairs, 1),
        "load_average_1min": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
    print(json.dumps(results))


if __name__ == "__main__":
    app.run(main)
