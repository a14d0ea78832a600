"""Datasets in the canonical layout: listing, deterministic train/test split, loading.

Canonical layout (what `esgan-prepare` writes):

    <root>/images/<id>.png   8-bit RGB H&E image
    <root>/masks/<id>.png    16-bit instance label map (0 = background, 1..N = nuclei);
                             binary masks (values within 0/255 or 0/1, any bit depth) are
                             also accepted and split into 4-connected components.

Every image needs a mask with the same id and size, and vice versa. Hidden files
(starting with ".") are ignored; any other non-PNG entry is reported, never skipped
silently. `validate(root)` reports every bad file of a folder at once; `check_samples`
is the check the trainers and evaluations run before they start (fast: from the PNG
headers, see `image_io.check_image`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import os
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tf_esgan.data.image_io import DatasetError, check_image, check_mask, read_image, read_mask
from tf_esgan.errors import ConfigError

__all__ = ["DatasetError", "Sample", "list_samples", "split_samples", "split_samples_by_group",
           "slide_of", "read_image", "read_mask", "load_pair", "check_pair", "check_samples",
           "validate", "sample_root", "DEFAULT_TEST_FRACTION"]

IMAGES_DIR = "images"
MASKS_DIR = "masks"
_SUFFIX = ".png"
LISTED_PROBLEMS = 5  # files named in a one-line error; the count says how many more
# Share of the slides every job holds out by default (GAN, SegNet, reproduction): with
# the same seed they all hold out the same slides (TNBC's 7 slides: 2 held out).
DEFAULT_TEST_FRACTION = 0.3


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sample:
    """One image/mask pair of a canonical dataset.

    Attributes:
      id: file stem shared by the image and the mask.
      image_path: `<root>/images/<id>.png`.
      mask_path: `<root>/masks/<id>.png`.
    """

    id: str
    image_path: Path
    mask_path: Path


def _list_folder(folder: Path, problems: list[str]) -> dict[str, Path]:
    """Maps id -> PNG path of one folder, appending naming problems to `problems`."""
    files: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue  # .DS_Store, editor swap files, our own atomic-write temp files
        if not entry.is_file() or entry.suffix.lower() != _SUFFIX:
            problems.append(f"{entry}: not a .png file (expected {folder}/<id>.png)")
            continue
        if entry.stem in files:
            problems.append(f"{entry}: id {entry.stem!r} also used by {files[entry.stem].name}")
            continue
        files[entry.stem] = entry
    return files


def _scan(root: Path) -> tuple[list[Sample], list[str]]:
    """Pairs images with masks; returns the good pairs and every naming problem."""
    root = Path(root)
    folders = {name: root / name for name in (IMAGES_DIR, MASKS_DIR)}
    missing = [str(path) for path in folders.values() if not path.is_dir()]
    if missing:
        raise DatasetError(f"{root}: not a dataset folder, missing {', '.join(missing)} "
                           "(expected images/<id>.png and masks/<id>.png)")
    problems: list[str] = []
    images = _list_folder(folders[IMAGES_DIR], problems)
    masks = _list_folder(folders[MASKS_DIR], problems)
    for sample_id in sorted(images.keys() - masks.keys()):
        problems.append(f"{images[sample_id]}: image has no mask "
                        f"(expected {folders[MASKS_DIR] / (sample_id + _SUFFIX)})")
    for sample_id in sorted(masks.keys() - images.keys()):
        problems.append(f"{masks[sample_id]}: mask has no image "
                        f"(expected {folders[IMAGES_DIR] / (sample_id + _SUFFIX)})")
    samples = [Sample(id=sample_id, image_path=images[sample_id], mask_path=masks[sample_id])
               for sample_id in sorted(images.keys() & masks.keys())]
    if not samples and not problems:
        problems.append(f"{root}: no samples (images/ and masks/ hold no .png files)")
    return samples, problems


def list_samples(root: str | os.PathLike) -> list[Sample]:
    """Lists the image/mask pairs of a canonical dataset, sorted by id.

    Raises:
      DatasetError: the folder is missing or empty, or any file is unpaired, not a PNG or
        a duplicate id; the message (one line) names the first `LISTED_PROBLEMS` such
        files and the count (`validate` lists them all).
    """
    samples, problems = _scan(Path(root))
    if problems:
        raise DatasetError(_summary(root, problems, "problem(s)"))
    return samples


def _summary(source: str | os.PathLike, problems: list[str], what: str) -> str:
    """One line for an error message: the only problem, or the first few and the count."""
    if len(problems) == 1:
        return problems[0]  # it names the file
    more = len(problems) - LISTED_PROBLEMS
    return (f"{source}: {len(problems)} {what}: " + "; ".join(problems[:LISTED_PROBLEMS])
            + (f"; and {more} more (tf_esgan.data.datasets.validate lists them all)" if more > 0 else ""))


def _order_key(sample_id: str, seed: int) -> bytes:
    # A hash of (seed, id) gives a permutation that depends on neither the listing order
    # nor the other ids, so adding a file never moves existing files between splits
    # except at the boundary.
    return hashlib.sha256(f"{seed}\0{sample_id}".encode()).digest()


def _test_count(count: int, test_fraction: float) -> int:
    """round(count * test_fraction), but neither side empty by rounding when count >= 2."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    test_count = round(count * test_fraction)
    if test_fraction > 0 and count >= 2:
        test_count = max(test_count, 1)
    if test_fraction < 1 and count >= 2:
        test_count = min(test_count, count - 1)
    return test_count


def split_samples(samples: Sequence[Sample], *, test_fraction: float,
                  seed: int) -> tuple[list[Sample], list[Sample]]:
    """Splits samples deterministically into (train, test), each sorted by id.

    The samples are ordered by sha256(seed, id) and the first round(n * test_fraction)
    go to test (at least one if test_fraction > 0 and at most n - 1 if test_fraction < 1,
    so neither side is empty by rounding). The result does not depend on the input order.

    Args:
      samples: distinct ids.
      test_fraction: in [0, 1].
      seed: any int; different seeds give different splits.
    """
    ids = [sample.id for sample in samples]
    if len(set(ids)) != len(ids):
        raise ValueError("split_samples: sample ids must be distinct")
    test_count = _test_count(len(ids), test_fraction)
    shuffled = sorted(samples, key=lambda sample: _order_key(sample.id, seed))
    test_ids = {sample.id for sample in shuffled[:test_count]}
    ordered = sorted(samples, key=lambda sample: sample.id)
    train = [sample for sample in ordered if sample.id not in test_ids]
    test = [sample for sample in ordered if sample.id in test_ids]
    return train, test


# TNBC ids are "<slide>_<patch>" (e.g. "04_7"), both decimal numbers.
_SLIDE_PATCH_ID = re.compile(r"^(\d+)_\d+$")


def slide_of(sample_id: str) -> str:
    """Slide (patient) of a sample id: "04" for TNBC's "04_7"; any other id is its own slide.

    CPM-15 ("image01") and MoNuSeg ("TCGA-...-DX1") hold one image per slide, so the
    image id is the group.
    """
    match = _SLIDE_PATCH_ID.match(sample_id)
    return match.group(1) if match else sample_id


def split_samples_by_group(samples: Sequence[Sample], *, group_of: Callable[[str], str] = slide_of,
                           test_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Like `split_samples`, but whole groups (slides, patients) go to one side.

    The groups `group_of(id)` are ordered by sha256(seed, group) and the first
    round(n_groups * test_fraction) groups go to test (same clamping as `split_samples`,
    on the number of groups), so no slide has patches on both sides. Each side is sorted
    by id.

    Args:
      samples: distinct ids.
      group_of: sample id -> group name; default `slide_of`.
      test_fraction: fraction of the groups (not of the images) in test, in [0, 1].
      seed: any int.
    """
    ids = [sample.id for sample in samples]
    if len(set(ids)) != len(ids):
        raise ValueError("split_samples_by_group: sample ids must be distinct")
    groups = sorted({group_of(sample_id) for sample_id in ids})
    test_count = _test_count(len(groups), test_fraction)
    test_groups = set(sorted(groups, key=lambda group: _order_key(group, seed))[:test_count])
    ordered = sorted(samples, key=lambda sample: sample.id)
    train = [sample for sample in ordered if group_of(sample.id) not in test_groups]
    test = [sample for sample in ordered if group_of(sample.id) in test_groups]
    return train, test


def load_pair(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Reads one sample.

    Returns:
      image: uint8 [H, W, 3] RGB in [0, 255].
      mask: int32 [H, W] instance labels, 0 = background, 1..N = nuclei.
    Raises:
      DatasetError: a file is missing or unreadable, or the sizes differ.
    """
    image = read_image(sample.image_path)
    mask = read_mask(sample.mask_path)
    _check_same_size(sample, image.shape[:2], mask.shape)
    return image, mask


def _check_same_size(sample: Sample, image_size: tuple[int, int], mask_size: tuple[int, int]) -> None:
    if tuple(image_size) != tuple(mask_size):
        raise DatasetError(
            f"{sample.mask_path}: mask is {mask_size[1]}x{mask_size[0]} (WxH) but its image "
            f"{sample.image_path} is {image_size[1]}x{image_size[0]}")


def check_pair(sample: Sample) -> tuple[int, int]:
    """(height, width) of a pair `load_pair` would read, checked without decoding canonical PNGs.

    Raises:
      DatasetError: as `load_pair` would (a missing, empty, truncated or wrong-format file,
        or sizes that differ); damage inside a complete PNG is only found by `load_pair`.
    """
    image_size = check_image(sample.image_path)
    _check_same_size(sample, image_size, check_mask(sample.mask_path))
    return image_size


def check_samples(samples: Sequence[Sample], *, source: str | os.PathLike, crop_size: int = 0,
                  crop_flag: str = "--crop_size") -> None:
    """Checks every pair a job will read, before it starts (see `check_pair`).

    Args:
      samples: the pairs.
      source: the dataset folder, named in the error.
      crop_size: if > 0, every image must be at least this large on both sides.
      crop_flag: the flag (or argument) that set `crop_size`, named in the error.
    Raises:
      DatasetError: some files are bad; names the first `LISTED_PROBLEMS` with what is
        wrong, and the count (one line, however many).
      ConfigError: an image is smaller than `crop_size`; names the flag, its value and
        the smallest image with its size.
    """
    problems, smallest = [], None
    for sample in samples:
        try:
            height, width = check_pair(sample)
        except DatasetError as error:
            problems.append(str(error))
            continue
        if smallest is None or min(height, width) < min(smallest[:2]):
            smallest = (height, width, sample.image_path)
    if problems:
        raise DatasetError(_summary(source, problems, f"bad pairs of {len(samples)}, fix or remove them"))
    if crop_size and smallest is not None and min(smallest[:2]) < crop_size:
        height, width, path = smallest
        raise ConfigError(f"{crop_flag}={crop_size} is larger than the smallest image of {source}, "
                          f"{path} ({width}x{height}, WxH); crops must fit inside every image")


def validate(root: str | os.PathLike) -> list[str]:
    """Checks a whole canonical dataset; returns one message per bad file (empty if clean).

    Unlike `list_samples` and `check_samples`, it does not stop at the first kind of
    problem: it lists naming problems and checks every pair (`check_pair`) so a user can
    fix all bad files at once. A folder without images/ and masks/ gives a single message.
    """
    try:
        samples, problems = _scan(Path(root))
    except DatasetError as error:
        return [str(error)]
    for sample in samples:
        try:
            check_pair(sample)
        except DatasetError as error:
            problems.append(str(error))
    return problems


def sample_root() -> Path:
    """Folder of the small demo dataset shipped with the package (canonical layout).

    Four 256x256 TNBC crops; see `tf_esgan/data/sample/README.md` for source and citation.
    """
    resource = importlib.resources.files("tf_esgan.data").joinpath("sample")
    if not isinstance(resource, Path) or not (resource / IMAGES_DIR).is_dir():
        raise DatasetError(
            f"demo sample not found as a folder at {resource}; reinstall tf-esgan from "
            "a source tree or wheel that includes tf_esgan/data/sample/")
    return resource
