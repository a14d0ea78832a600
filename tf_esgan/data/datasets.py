"""Datasets in the canonical layout: listing, deterministic train/test split, loading.

Canonical layout (what `esgan-prepare` writes):

    <root>/images/<id>.png   8-bit RGB H&E image
    <root>/masks/<id>.png    16-bit instance label map (0 = background, 1..N = nuclei);
                             8-bit binary masks (0/255 or 0/1) are also accepted and split
                             into 4-connected components.

Every image needs a mask with the same id and size, and vice versa. Hidden files
(starting with ".") are ignored; any other non-PNG entry is reported, never skipped
silently. `validate(root)` reports every bad file of a folder at once.
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

from tf_esgan.data.image_io import DatasetError, read_image, read_mask

__all__ = ["DatasetError", "Sample", "list_samples", "split_samples", "split_samples_by_group",
           "slide_of", "read_image", "read_mask", "load_pair", "validate", "sample_root"]

IMAGES_DIR = "images"
MASKS_DIR = "masks"
_SUFFIX = ".png"


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
        a duplicate id; the message lists every such file.
    """
    samples, problems = _scan(Path(root))
    if problems:
        raise DatasetError(f"{root}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return samples


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
    if image.shape[:2] != mask.shape:
        raise DatasetError(
            f"{sample.mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but its image "
            f"{sample.image_path} is {image.shape[1]}x{image.shape[0]}")
    return image, mask


def validate(root: str | os.PathLike) -> list[str]:
    """Checks a whole canonical dataset; returns one message per bad file (empty if clean).

    Unlike `list_samples` and `load_pair`, it does not stop at the first problem: it
    reads every pair so a user can fix all bad files at once. A folder without images/
    and masks/ gives a single message.
    """
    try:
        samples, problems = _scan(Path(root))
    except DatasetError as error:
        return [str(error)]
    for sample in samples:
        try:
            load_pair(sample)
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
