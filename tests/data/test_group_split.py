"""Slide-grouped train/test split: no slide on both sides."""

from pathlib import Path

import pytest

from tf_esgan.data.datasets import (Sample, list_samples, slide_of, split_samples,
                                    split_samples_by_group)


def _samples(ids):
    return [Sample(id=i, image_path=Path(f"images/{i}.png"), mask_path=Path(f"masks/{i}.png")) for i in ids]


def test_slide_of():
    assert slide_of("04_7") == "04"
    assert slide_of("11_12") == "11"
    assert slide_of("image01") == "image01"
    assert slide_of("TCGA-21-5784-01Z-00-DX1") == "TCGA-21-5784-01Z-00-DX1"
    assert slide_of("tnbc_01_2_y160_x160") == "tnbc_01_2_y160_x160"


def test_tnbc_split_keeps_slides_whole(datasets_dir):
    samples = list_samples(datasets_dir / "tnbc")
    train, test = split_samples_by_group(samples, test_fraction=0.3, seed=0)
    train_slides = {slide_of(s.id) for s in train}
    test_slides = {slide_of(s.id) for s in test}
    all_slides = train_slides | test_slides
    assert not train_slides & test_slides
    assert len(test_slides) == round(len(all_slides) * 0.3)
    assert sorted(s.id for s in train + test) == sorted(s.id for s in samples)
    assert [s.id for s in test] == sorted(s.id for s in test)


def test_split_is_deterministic_order_independent_and_seeded():
    ids = [f"{slide:02d}_{patch}" for slide in range(1, 9) for patch in range(1, 4)]
    first = split_samples_by_group(_samples(ids), test_fraction=0.25, seed=3)
    again = split_samples_by_group(_samples(ids[::-1]), test_fraction=0.25, seed=3)
    assert first == again
    test_slides = {slide_of(s.id) for s in first[1]}
    assert len(test_slides) == 2 and len(first[1]) == 6
    other_seeds = {frozenset(slide_of(s.id) for s in split_samples_by_group(
        _samples(ids), test_fraction=0.25, seed=seed)[1]) for seed in range(10)}
    assert len(other_seeds) > 1


def test_one_image_per_group_matches_split_samples():
    # CPM-15 / MoNuSeg ids are their own slide: the grouped split is the plain split.
    samples = _samples([f"image{i:02d}" for i in range(1, 16)])
    assert split_samples_by_group(samples, test_fraction=0.3, seed=1) == split_samples(
        samples, test_fraction=0.3, seed=1)


def test_custom_group_and_edge_fractions():
    samples = _samples(["a-1", "a-2", "b-1", "c-1"])
    train, test = split_samples_by_group(samples, group_of=lambda i: i.split("-")[0],
                                         test_fraction=0.01, seed=0)
    assert len({s.id.split("-")[0] for s in test}) == 1  # at least one group when fraction > 0
    train, test = split_samples_by_group(samples, test_fraction=0.0, seed=0)
    assert test == [] and len(train) == 4
    with pytest.raises(ValueError, match="test_fraction"):
        split_samples_by_group(samples, test_fraction=1.5, seed=0)
    with pytest.raises(ValueError, match="distinct"):
        split_samples_by_group(samples + samples[:1], test_fraction=0.5, seed=0)
