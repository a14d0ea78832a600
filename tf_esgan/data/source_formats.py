"""Finding image/annotation pairs in the original public releases and reading their masks.

Each format provides `find_<format>(source) -> SourceListing` and a mask reader
`(SourcePair, (H, W)) -> int32 [H, W]` instance labels (0 = background, 1..N = nuclei).

- TNBC (Naylor et al. 2019): `Slide_XX/XX_N.png` images, `GT_XX/XX_N.png` binary masks
  (0/255); instances = 4-connected components of GT > 0. Ids `XX_N`.
- CPM-15 / CPM-17: `imageXX.png` + `imageXX_mask.txt` (CPM-15 ASCII: `width height`, then
  width*height labels with x fastest) or `imageXX_mask.{mat,png}`; or CPM-17's
  `<split>/Images/<name>.png` + `<split>/Labels/<name>.{mat,png}` (`.mat` key `inst_map`).
  Ids: the folders below `source` (without `Images`) and the stem, joined by "_"
  (`imageXX`, `train_image_01`).
- MoNuSeg 2018: `<id>.tif` + `<id>.xml` in the same folder, or `Tissue Images/<id>.tif`
  + `Annotations/<id>.xml`. The polygon filling lives in `monuseg_xml.py`.
- Training sets of other tools (files read by `pair_formats`, which also writes them),
  in `source` or in subfolders such as `train/` and `test/` (ids: those folders and the
  stem joined by "_"): StarDist `images/<stem>.tif` + `masks/<stem>.tif`; Cellpose
  `<stem>.{png,jpg,jpeg,tif,tiff}` + `<stem>_masks.{tif,tiff,png}` in one folder
  (Cellpose's `--mask_filter _masks`); HoVer-Net `<stem>.npy` patches [H, W, 4|5] (RGB +
  instance map); and the canonical `images/<stem>.png` + `masks/<stem>.png`.
  `IMAGE_READERS` names the image reader of these formats (others: `read_image`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.io

from tf_esgan.data.image_io import DatasetError, decode_file, label_map_from_array
from tf_esgan.data.labels import connected_components
from tf_esgan.data.monuseg_xml import read_monuseg_xml
from tf_esgan.data.pair_formats import (CELLPOSE_RESERVED_SUFFIXES, read_image_file,
                                        read_label_file)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SourcePair:
    """One image and its original annotation file."""

    id: str
    image_path: Path
    mask_path: Path


@dataclasses.dataclass(frozen=True, kw_only=True)
class SourceListing:
    """Pairs found in a source folder, plus files that could not be paired and notes."""

    pairs: list[SourcePair]
    problems: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)


def _visible_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(path for path in folder.rglob("*")
                  if path.is_file() and path.suffix.lower() in suffixes
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def _require_folder(source: Path) -> Path:
    source = Path(source)
    if not source.is_dir():
        raise DatasetError(f"{source}: source folder not found")
    return source


# ---------------------------------------------------------------- TNBC

def find_tnbc(source: Path) -> SourceListing:
    source = _require_folder(source)
    slides = sorted(path for path in source.rglob("Slide_*") if path.is_dir())
    if not slides:
        raise DatasetError(f"{source}: no Slide_XX/ folders found (expected the TNBC release "
                           "layout Slide_XX/XX_N.png + GT_XX/XX_N.png)")
    pairs, problems = [], []
    for slide in slides:
        truth = slide.with_name("GT_" + slide.name.removeprefix("Slide_"))
        images = {path.name: path for path in _visible_files(slide, (".png",))}
        masks = ({path.name: path for path in _visible_files(truth, (".png",))}
                 if truth.is_dir() else {})
        for name in sorted(images.keys() - masks.keys()):
            problems.append(f"{images[name]}: image has no ground truth (expected {truth / name})")
        for name in sorted(masks.keys() - images.keys()):
            problems.append(f"{masks[name]}: ground truth has no image (expected {slide / name})")
        pairs += [SourcePair(id=Path(name).stem, image_path=images[name], mask_path=masks[name])
                  for name in sorted(images.keys() & masks.keys())]
    return SourceListing(pairs=pairs, problems=problems)


def read_tnbc_mask(pair: SourcePair, shape: tuple[int, int]) -> np.ndarray:
    del shape  # the size is checked by the caller
    truth = decode_file(pair.mask_path)
    if truth.ndim == 3:
        colour = truth[..., :3]
        if not np.all(colour == colour[..., :1]):
            raise DatasetError(f"{pair.mask_path}: expected a gray binary ground truth, "
                               "got different colour channels")
        truth = colour[..., 0]
    if np.unique(truth).size > 2:
        raise DatasetError(f"{pair.mask_path}: expected a binary ground truth (0/255), found "
                           f"{np.unique(truth).size} distinct values")
    return connected_components(truth)


# ---------------------------------------------------------------- CPM-15 / CPM-17

_CPM_IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
_CPM_MASK_SUFFIXES = (".txt", ".mat", ".png")
# Derived files of the releases that are neither images nor masks.
_CPM_SKIPPED_SUFFIXES = ("_mask", "_poly")
_CPM_SKIPPED_FOLDERS = {"Labels", "Overlay", "Overlays"}


def _cpm_mask_candidates(image: Path) -> list[Path]:
    candidates = [image.with_name(f"{image.stem}_mask{suffix}") for suffix in _CPM_MASK_SUFFIXES]
    if image.parent.name == "Images":
        labels = image.parent.with_name("Labels")
        candidates += [labels / f"{image.stem}{suffix}" for suffix in (".mat", ".png")]
    return candidates


def _txt_size(path: Path) -> tuple[int, int] | None:
    with open(path, encoding="ascii", errors="replace") as stream:
        header = stream.readline().split()
    return (int(header[0]), int(header[1])) if len(header) == 2 and all(
        token.isdigit() for token in header) else None


def _fix_cpm15_swap(pairs: list[SourcePair], notes: list[str]) -> list[SourcePair]:
    """The CPM-15 release swapped image04_mask.txt and image05_mask.txt.

    Swapped back only when each mask has exactly the other image's size and not its own,
    so a corrected release is left alone.
    """
    by_id = {pair.id: pair for pair in pairs}
    first, second = by_id.get("image04"), by_id.get("image05")
    if not (first and second and first.mask_path.suffix == second.mask_path.suffix == ".txt"):
        return pairs
    image_sizes = [decode_file(pair.image_path).shape[1::-1] for pair in (first, second)]
    mask_sizes = [_txt_size(pair.mask_path) for pair in (first, second)]
    if image_sizes[0] == image_sizes[1] or mask_sizes != image_sizes[::-1]:
        return pairs
    notes.append(f"fixed known CPM-15 swap: {first.image_path.name} uses "
                 f"{second.mask_path.name} and {second.image_path.name} uses "
                 f"{first.mask_path.name} (mask sizes match the other image)")
    swapped = {first.id: dataclasses.replace(first, mask_path=second.mask_path),
               second.id: dataclasses.replace(second, mask_path=first.mask_path)}
    return [swapped.get(pair.id, pair) for pair in pairs]


def find_cpm(source: Path) -> SourceListing:
    source = _require_folder(source)
    pairs, problems, notes = [], [], []
    used_masks: set[Path] = set()
    for image in _visible_files(source, _CPM_IMAGE_SUFFIXES):
        if (image.stem.endswith(_CPM_SKIPPED_SUFFIXES)
                or _CPM_SKIPPED_FOLDERS & set(image.relative_to(source).parts[:-1])):
            continue
        found = [path for path in _cpm_mask_candidates(image) if path.is_file()]
        if len(found) != 1:
            looked = ", ".join(path.name for path in _cpm_mask_candidates(image))
            what = "no mask" if not found else f"{len(found)} candidate masks"
            problems.append(f"{image}: {what} (looked for {looked})")
            continue
        folders = [part for part in image.relative_to(source).parts[:-1] if part != "Images"]
        pairs.append(SourcePair(id="_".join(folders + [image.stem]), image_path=image,
                                mask_path=found[0]))
        used_masks.add(found[0])
    for mask in _visible_files(source, (".txt", ".mat")):
        if mask not in used_masks and (mask.stem.endswith("_mask") or mask.parent.name == "Labels"):
            problems.append(f"{mask}: mask has no image")
    if not pairs and not problems:
        raise DatasetError(f"{source}: no CPM images found (expected imageXX.png + "
                           "imageXX_mask.txt/.mat/.png, or Images/ + Labels/ folders)")
    return SourceListing(pairs=_fix_cpm15_swap(pairs, notes), problems=problems, notes=notes)


def _read_cpm_txt(path: Path) -> np.ndarray:
    tokens = path.read_text(encoding="ascii", errors="replace").split()
    if len(tokens) < 2 or not (tokens[0].isdigit() and tokens[1].isdigit()):
        raise DatasetError(f"{path}: expected a first line 'width height'")
    width, height = int(tokens[0]), int(tokens[1])
    if len(tokens) - 2 != width * height:
        raise DatasetError(f"{path}: header says {width}x{height} = {width * height} labels, "
                           f"found {len(tokens) - 2}")
    try:
        values = np.array(tokens[2:], dtype=np.int64)
    except ValueError:
        bad = next(token for token in tokens[2:] if not token.lstrip("-").isdigit())
        raise DatasetError(f"{path}: expected integer labels, found {bad!r}") from None
    # x varies fastest, so the flat list is row-major (height, width).
    return values.reshape(height, width)


def _read_cpm_mat(path: Path, shape: tuple[int, int]) -> np.ndarray:
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:
        raise DatasetError(f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save "
                           "with -v7") from None
    except (ValueError, OSError, TypeError) as error:
        raise DatasetError(f"{path}: not a readable .mat file ({error})") from None
    arrays = {key: value for key, value in contents.items()
              if not key.startswith("__") and isinstance(value, np.ndarray) and value.ndim == 2
              and value.dtype.kind in "biuf"}
    if "inst_map" in arrays:
        return arrays["inst_map"]
    matching = {key: value for key, value in arrays.items() if value.shape == shape}
    if len(matching) != 1:
        raise DatasetError(f"{path}: expected key 'inst_map' or exactly one 2-D numeric array "
                           f"of the image size {shape}, found {sorted(matching) or sorted(arrays)}")
    return next(iter(matching.values()))


def read_cpm_mask(pair: SourcePair, shape: tuple[int, int]) -> np.ndarray:
    suffix = pair.mask_path.suffix.lower()
    if suffix == ".txt":
        array = _read_cpm_txt(pair.mask_path)
    elif suffix == ".mat":
        array = _read_cpm_mat(pair.mask_path, shape)
    else:
        array = decode_file(pair.mask_path)
    return label_map_from_array(array, str(pair.mask_path))


# ---------------------------------------------------------------- MoNuSeg

def find_monuseg(source: Path) -> SourceListing:
    source = _require_folder(source)
    pairs, problems = [], []
    used: set[Path] = set()
    for image in _visible_files(source, (".tif", ".tiff")):
        candidates = [image.with_suffix(".xml"), image.parent.with_name("Annotations") /
                      (image.stem + ".xml")]
        found = [path for path in candidates if path.is_file()]
        if not found:
            problems.append(f"{image}: no annotation (looked for "
                            f"{', '.join(str(path) for path in candidates)})")
            continue
        used.add(found[0])
        pairs.append(SourcePair(id=image.stem, image_path=image, mask_path=found[0]))
    problems += [f"{xml}: annotation has no image" for xml in _visible_files(source, (".xml",))
                 if xml not in used]
    if not pairs and not problems:
        raise DatasetError(f"{source}: no MoNuSeg .tif images found")
    return SourceListing(pairs=pairs, problems=problems)


def read_monuseg_mask(pair: SourcePair, shape: tuple[int, int]) -> np.ndarray:
    return read_monuseg_xml(pair.mask_path, shape)


# ---------------------------------------------------------------- StarDist / Cellpose / HoVer-Net

def _stems(folder: Path, suffixes: tuple[str, ...], problems: list[str]) -> dict[str, Path]:
    """stem -> file of the visible files of one folder (not below it) with these suffixes."""
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        if path.stem in files:
            problems.append(f"{path}: stem {path.stem!r} also used by {files[path.stem].name}")
        else:
            files[path.stem] = path
    return files


def _source_id(source: Path, folder: Path, stem: str) -> str:
    return "_".join([*folder.relative_to(source).parts, stem])


def _pair_stems(source: Path, folder: Path, images: dict[str, Path], masks: dict[str, Path],
                pairs: list[SourcePair], problems: list[str]) -> None:
    problems += [f"{images[stem]}: image has no mask" for stem in sorted(images.keys() - masks.keys())]
    problems += [f"{masks[stem]}: mask has no image" for stem in sorted(masks.keys() - images.keys())]
    pairs += [SourcePair(id=_source_id(source, folder, stem), image_path=images[stem],
                         mask_path=masks[stem]) for stem in sorted(images.keys() & masks.keys())]


def _find_images_and_masks(source: Path, suffixes: tuple[str, ...], what: str) -> SourceListing:
    """`<D>/images/<stem>` + `<D>/masks/<stem>` for `source` and every folder D below it."""
    source = _require_folder(source)
    pairs, problems = [], []
    for masks in sorted(path for path in source.rglob("masks") if path.is_dir() and not any(
            part.startswith(".") for part in path.relative_to(source).parts)):
        if not (masks.parent / "images").is_dir():
            problems.append(f"{masks}: no images/ folder beside it")
            continue
        _pair_stems(source, masks.parent, _stems(masks.parent / "images", suffixes, problems),
                    _stems(masks, suffixes, problems), pairs, problems)
    if not pairs and not problems:
        raise DatasetError(f"{source}: no {what} pairs found (expected images/<name>"
                           f"{suffixes[0]} + masks/<name>{suffixes[0]})")
    return SourceListing(pairs=pairs, problems=problems)


def find_stardist(source: Path) -> SourceListing:
    return _find_images_and_masks(source, (".tif", ".tiff"), "StarDist")


def find_canonical(source: Path) -> SourceListing:
    return _find_images_and_masks(source, (".png",), "canonical")


_CELLPOSE_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_CELLPOSE_MASK_SUFFIXES = (".tif", ".tiff", ".png")


def find_cellpose(source: Path) -> SourceListing:
    source = _require_folder(source)
    pairs, problems = [], []
    folders = sorted({path.parent for path in _visible_files(source, _CELLPOSE_MASK_SUFFIXES)
                      if path.stem.endswith("_masks")})
    for folder in folders:
        files = _stems(folder, _CELLPOSE_IMAGE_SUFFIXES, problems)
        masks = {stem.removesuffix("_masks"): path for stem, path in files.items()
                 if stem.endswith("_masks") and path.suffix.lower() in _CELLPOSE_MASK_SUFFIXES}
        images = {stem: path for stem, path in files.items()
                  if not stem.endswith(CELLPOSE_RESERVED_SUFFIXES)}
        _pair_stems(source, folder, images, masks, pairs, problems)
    if not pairs and not problems:
        raise DatasetError(f"{source}: no Cellpose pairs found (expected <name>.png + "
                           "<name>_masks.tif in one folder)")
    return SourceListing(pairs=pairs, problems=problems)


def find_hovernet(source: Path) -> SourceListing:
    source = _require_folder(source)
    pairs = [SourcePair(id=_source_id(source, path.parent, path.stem), image_path=path,
                        mask_path=path) for path in _visible_files(source, (".npy",))]
    if not pairs:
        raise DatasetError(f"{source}: no HoVer-Net .npy patches found (expected <name>.npy "
                           "[H, W, 4], RGB + instance map, as extract_patches.py saves them)")
    return SourceListing(pairs=pairs, problems=[])


def read_pair_file_mask(pair: SourcePair, shape: tuple[int, int]) -> np.ndarray:
    del shape  # the size is checked by the caller
    return read_label_file(pair.mask_path)


FORMATS: dict[str, tuple[Callable[[Path], SourceListing],
                         Callable[[SourcePair, tuple[int, int]], np.ndarray]]] = {
    "tnbc": (find_tnbc, read_tnbc_mask),
    "cpm": (find_cpm, read_cpm_mask),
    "monuseg": (find_monuseg, read_monuseg_mask),
    "stardist": (find_stardist, read_pair_file_mask),
    "cellpose": (find_cellpose, read_pair_file_mask),
    "hovernet": (find_hovernet, read_pair_file_mask),
    "canonical": (find_canonical, read_pair_file_mask),
}
# Image readers of the formats whose images are not all plain image files (TIFF read with
# tifffile, HoVer-Net's RGB inside the .npy); the others use `image_io.read_image`.
IMAGE_READERS: dict[str, Callable[[Path], np.ndarray]] = {
    format: read_image_file for format in ("stardist", "cellpose", "hovernet", "canonical")}
