"""Converting an original public release (TNBC, CPM-15/17, MoNuSeg) or another tool's
training set (StarDist, Cellpose, HoVer-Net patches) to the canonical layout.

Writes `<out>/images/<id>.png` (8-bit RGB) and `<out>/masks/<id>.png` (16-bit instance
labels 1..N). Every file is written atomically and read back to verify it. A bad pair
(unreadable file, size mismatch, bad annotation) is reported in the summary and skipped;
the other pairs are still converted, so one bad file never corrupts the rest. Files of
the same id already in `out` are replaced.

Example:
    summary = convert_dataset(format="tnbc", source=Path("TNBC"), out=Path("data/tnbc"))
    print(summary.format_report())
"""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path
from typing import Callable

import numpy as np

from tf_esgan.data.datasets import IMAGES_DIR, MASKS_DIR
from tf_esgan.data.image_io import DatasetError, read_image, write_image, write_mask
from tf_esgan.data.source_formats import FORMATS, IMAGE_READERS, SourcePair

# progress(done, total, message) after each pair.
ProgressFn = Callable[[int, int, str], None]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConvertedSample:
    id: str
    height: int
    width: int
    nuclei: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversionSummary:
    """What `convert_dataset` did.

    Attributes:
      converted: written samples in id order.
      failures: one message per source file or pair that was not converted.
      notes: fixes applied to the source (e.g. the CPM-15 mask swap).
    """

    format: str
    source: Path
    out: Path
    converted: tuple[ConvertedSample, ...]
    failures: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def total_nuclei(self) -> int:
        return sum(sample.nuclei for sample in self.converted)

    def format_report(self) -> str:
        lines = [f"{self.format}: {self.source} -> {self.out}",
                 f"{'id':<32} {'width x height':>15} {'nuclei':>7}"]
        lines += [f"{sample.id:<32} {f'{sample.width} x {sample.height}':>15} "
                  f"{sample.nuclei:>7}" for sample in self.converted]
        lines.append(f"converted {len(self.converted)} image(s), {self.total_nuclei} nuclei; "
                     f"{len(self.failures)} failure(s)")
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"FAILED: {failure}" for failure in self.failures]
        return "\n".join(lines)


def _duplicate_id_problems(pairs: list[SourcePair]) -> tuple[list[SourcePair], list[str]]:
    counts = collections.Counter(pair.id for pair in pairs)
    problems = [f"{pair.image_path}: id {pair.id!r} is used by {counts[pair.id]} source images "
                "(none of them converted)" for pair in pairs if counts[pair.id] > 1]
    return [pair for pair in pairs if counts[pair.id] == 1], problems


def _convert_pair(pair: SourcePair, read_image_fn, read_mask_fn, out: Path) -> ConvertedSample:
    image = read_image_fn(pair.image_path)
    labels = read_mask_fn(pair, image.shape[:2])
    if labels.shape != image.shape[:2]:
        raise DatasetError(
            f"{pair.mask_path}: mask is {labels.shape[1]}x{labels.shape[0]} (WxH) but its image "
            f"{pair.image_path} is {image.shape[1]}x{image.shape[0]}")
    write_image(out / IMAGES_DIR / f"{pair.id}.png", image)
    write_mask(out / MASKS_DIR / f"{pair.id}.png", labels)
    return ConvertedSample(id=pair.id, height=image.shape[0], width=image.shape[1],
                           nuclei=int(np.max(labels, initial=0)))


def convert_dataset(*, format: str, source: str | os.PathLike, out: str | os.PathLike,
                    progress: ProgressFn | None = None) -> ConversionSummary:
    """Converts one original release into the canonical layout.

    Args:
      format: a key of `source_formats.FORMATS`: "tnbc", "cpm", "monuseg", "stardist",
        "cellpose", "hovernet", "canonical" (see `source_formats` for the layouts).
      source: folder of the original release.
      out: output folder; `images/` and `masks/` are created inside it.
      progress: called after each pair as progress(done, total, message).
    Raises:
      ValueError: unknown format.
      DatasetError: `source` is missing or holds nothing of this format.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")
    find_pairs, read_mask_fn = FORMATS[format]
    read_image_fn = IMAGE_READERS.get(format, read_image)
    source, out = Path(source), Path(out)
    listing = find_pairs(source)
    pairs, duplicates = _duplicate_id_problems(listing.pairs)
    failures = list(listing.problems) + duplicates
    if pairs:
        for folder in (IMAGES_DIR, MASKS_DIR):
            (out / folder).mkdir(parents=True, exist_ok=True)
    converted = []
    for done, pair in enumerate(sorted(pairs, key=lambda pair: pair.id), start=1):
        try:
            sample = _convert_pair(pair, read_image_fn, read_mask_fn, out)
        except DatasetError as error:
            failures.append(str(error))
            message = f"{pair.id}: FAILED"
        else:
            converted.append(sample)
            message = f"{pair.id}: {sample.width}x{sample.height}, {sample.nuclei} nuclei"
        if progress is not None:
            progress(done, len(pairs), message)
    return ConversionSummary(format=format, source=source, out=out, converted=tuple(converted),
                             failures=tuple(failures), notes=tuple(listing.notes))
