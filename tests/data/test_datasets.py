"""Canonical dataset listing, splitting, loading, validation; real data and demo sample."""

import hashlib
import random
import re

import cv2
import numpy as np
import pytest
from skimage.segmentation import relabel_sequential

from tf_esgan.data.datasets import (DatasetError, Sample, list_samples, load_pair, sample_root,
                                    split_samples, validate)

# Per-image nuclei counts from the CPM-15 README table.
CPM15_NUCLEI = {"image01": 351, "image02": 127, "image04": 144, "image05": 346, "image07": 292,
                "image08": 251, "image10": 218, "image11": 68, "image13": 93, "image14": 139}
# Demo sample README table: id -> nuclei.
DEMO_NUCLEI = {"tnbc_01_2_y160_x160": 57, "tnbc_04_8_y224_x0": 72,
               "tnbc_05_1_y32_x160": 53, "tnbc_07_3_y256_x32": 90}


def _write_pair(root, sample_id, rng, size=(6, 8), nuclei=2):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    mask = np.zeros(size, np.uint16)
    for label in range(1, nuclei + 1):
        mask[label - 1, :2] = label
    cv2.imwrite(str(root / "images" / f"{sample_id}.png"), image)
    cv2.imwrite(str(root / "masks" / f"{sample_id}.png"), mask)


def _samples(ids):
    return [Sample(id=i, image_path=f"images/{i}.png", mask_path=f"masks/{i}.png") for i in ids]


def test_list_samples_pairs_sorted_by_id(tmp_path, rng):
    for sample_id in ["b", "a", "c10", "c2"]:
        _write_pair(tmp_path, sample_id, rng)
    (tmp_path / "images" / ".DS_Store").write_bytes(b"x")  # hidden files are ignored
    samples = list_samples(tmp_path)
    assert [s.id for s in samples] == ["a", "b", "c10", "c2"]
    assert samples[0].image_path == tmp_path / "images" / "a.png"
    assert samples[0].mask_path == tmp_path / "masks" / "a.png"


def test_list_samples_reports_every_unpaired_or_foreign_file(tmp_path, rng):
    for sample_id in ["ok", "no_mask", "no_image"]:
        _write_pair(tmp_path, sample_id, rng)
    (tmp_path / "masks" / "no_mask.png").unlink()
    (tmp_path / "images" / "no_image.png").unlink()
    (tmp_path / "images" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError) as error:
        list_samples(tmp_path)
    message = str(error.value)
    assert "3 problem(s)" in message
    assert "no_mask.png: image has no mask" in message
    assert "no_image.png: mask has no image" in message
    assert "notes.txt: not a .png file" in message


def test_list_samples_empty_or_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="missing .*images.*masks"):
        list_samples(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(DatasetError, match="no samples"):
        list_samples(tmp_path)


def _reference_split(ids, fraction, seed):
    """Slow literal reference: rank by sha256(seed NUL id), the first round(n*f) are test."""
    ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}\0{i}".encode()).hexdigest())
    test = set(ranked[:round(len(ids) * fraction)])
    return sorted(set(ids) - test), sorted(test)


def test_split_matches_reference_and_ignores_input_order():
    ids = [f"{slide:02d}_{patch}" for slide in range(1, 12) for patch in range(1, 6)]
    expected = _reference_split(ids, 0.3, seed=7)
    shuffled = _samples(ids)
    random.Random(0).shuffle(shuffled)
    for order in (_samples(ids), shuffled, _samples(reversed(ids))):
        train, test = split_samples(order, test_fraction=0.3, seed=7)
        assert ([s.id for s in train], [s.id for s in test]) == expected
    assert len(expected[1]) == 16 and len(expected[0]) == 39  # round(55 * 0.3)


def test_split_is_disjoint_covering_and_seed_dependent():
    samples = _samples([f"id{k}" for k in range(40)])
    splits = {}
    for seed in range(5):
        train, test = split_samples(samples, test_fraction=0.25, seed=seed)
        train_ids, test_ids = {s.id for s in train}, {s.id for s in test}
        assert not train_ids & test_ids
        assert train_ids | test_ids == {s.id for s in samples}
        assert len(test_ids) == 10
        splits[seed] = frozenset(test_ids)
    assert len(set(splits.values())) == 5


def test_split_edges():
    samples = _samples(["a", "b", "c"])
    assert split_samples(samples, test_fraction=0.0, seed=1)[1] == []
    assert split_samples(samples, test_fraction=1.0, seed=1)[0] == []
    # Rounding never empties a side: 0.1 * 3 -> 0 is raised to 1, 0.9 * 3 -> 3 lowered to 2.
    assert len(split_samples(samples, test_fraction=0.1, seed=1)[1]) == 1
    assert len(split_samples(samples, test_fraction=0.9, seed=1)[0]) == 1
    with pytest.raises(ValueError, match="test_fraction must be in"):
        split_samples(samples, test_fraction=1.5, seed=1)
    with pytest.raises(ValueError, match="distinct"):
        split_samples(_samples(["a", "a"]), test_fraction=0.5, seed=1)


def test_load_pair_size_mismatch_names_both_files(tmp_path, rng):
    _write_pair(tmp_path, "x", rng, size=(6, 8))
    cv2.imwrite(str(tmp_path / "masks" / "x.png"), np.zeros((6, 9), np.uint16))
    (sample,) = list_samples(tmp_path)
    with pytest.raises(DatasetError, match=r"masks/x\.png: mask is 9x6 .*images/x\.png is 8x6"):
        load_pair(sample)


def test_validate_reports_all_bad_files_and_others_still_load(tmp_path, rng):
    for k in range(6):
        _write_pair(tmp_path, f"good{k}", rng)
    _write_pair(tmp_path, "corrupt", rng)
    (tmp_path / "images" / "corrupt.png").write_bytes(b"not a png")
    _write_pair(tmp_path, "wrong_size", rng)
    cv2.imwrite(str(tmp_path / "masks" / "wrong_size.png"), np.zeros((2, 2), np.uint16))
    _write_pair(tmp_path, "orphan", rng)
    (tmp_path / "masks" / "orphan.png").unlink()
    problems = validate(tmp_path)
    assert len(problems) == 3
    assert "orphan.png: image has no mask" in problems[0]
    assert "corrupt.png: not a readable image" in problems[1]
    assert "wrong_size.png: mask is 2x2" in problems[2]
    (tmp_path / "images" / "orphan.png").unlink()
    good = [s for s in list_samples(tmp_path) if s.id.startswith("good")]
    for sample in good:
        image, mask = load_pair(sample)
        assert image.shape == (6, 8, 3) and mask.max() == 2
    assert validate(tmp_path / "images") != []  # not a dataset root: reported, not crashed


@pytest.mark.parametrize("name, count, nuclei, size", [
    ("tnbc", 33, 2733, (512, 512)),
    ("cpm15", 10, 2029, None),
    ("monuseg", 18, 7838, (1000, 1000)),
])
def test_real_datasets_match_readme(datasets_dir, name, count, nuclei, size):
    samples = list_samples(datasets_dir / name)
    assert len(samples) == count
    total = 0
    for sample in samples:
        image, mask = load_pair(sample)
        assert image.dtype == np.uint8 and mask.dtype == np.int32
        assert image.shape[:2] == mask.shape
        if size:
            assert mask.shape == size
        # Canonical labels are already consecutive, so N = max = number of labels.
        assert np.unique(mask).size - 1 == mask.max()
        if name == "cpm15":
            assert mask.max() == CPM15_NUCLEI[sample.id]
        total += int(mask.max())
    assert total == nuclei


def test_real_tnbc_split(datasets_dir):
    samples = list_samples(datasets_dir / "tnbc")
    train, test = split_samples(samples, test_fraction=0.2, seed=0)
    assert (len(train), len(test)) == (26, 7)
    assert {s.id for s in train} | {s.id for s in test} == {s.id for s in samples}


def test_demo_sample_loads():
    root = sample_root()
    samples = list_samples(root)
    assert {s.id: None for s in samples}.keys() == DEMO_NUCLEI.keys()
    assert validate(root) == []
    size_on_disk = sum(p.stat().st_size for p in root.rglob("*.png"))
    assert size_on_disk < 1_000_000
    for sample in samples:
        image, mask = load_pair(sample)
        assert image.shape == (256, 256, 3) and image.dtype == np.uint8
        assert mask.shape == (256, 256) and mask.dtype == np.int32
        assert np.array_equal(np.unique(mask), np.arange(DEMO_NUCLEI[sample.id] + 1))
        raw = cv2.imread(str(sample.mask_path), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == np.uint16


def test_demo_sample_is_a_crop_of_tnbc(datasets_dir):
    for sample in list_samples(sample_root()):
        source_id, top, left = re.fullmatch(r"tnbc_(\d+_\d+)_y(\d+)_x(\d+)", sample.id).groups()
        top, left = int(top), int(left)
        (source,) = [s for s in list_samples(datasets_dir / "tnbc") if s.id == source_id]
        image, mask = load_pair(sample)
        full_image, full_mask = load_pair(source)
        window = (slice(top, top + 256), slice(left, left + 256))
        np.testing.assert_array_equal(image, full_image[window])
        np.testing.assert_array_equal(mask, relabel_sequential(full_mask[window])[0])
