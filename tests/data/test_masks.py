"""Tests of tf_esgan.data.masks: shape/id invariants, parameter control, fit to real data."""

import dataclasses

import numpy as np
import pytest

from tf_esgan.data.image_io import read_mask
from tf_esgan.data.label_stats import measure_label_stats, measure_tiles, summarise_stats
from tf_esgan.data.masks import PRESETS, NucleiParams, random_nuclei_labels

# Sizes and counts without the per-image factors and contact, so that only the
# per-nucleus spread and Poisson noise remain.
_PLAIN = dict(size_bias_log_std=0.0, density_log_std=0.0, touch_probability=0.0,
              max_overlap=0.0)
# datasets/cpm15/README.md: image01-07 are 20x, image08-15 are 40x.
_CPM15_20X = {"image01", "image02", "image03", "image04", "image05", "image06", "image07"}
_TNBC_FIT_SLIDES = {"03", "04", "05", "06", "07"}


def _summary(count, seed=0, **params):
    rng = np.random.default_rng(seed)
    return summarise_stats([measure_label_stats(random_nuclei_labels(rng=rng, **params))
                            for _ in range(count)])


def test_same_seed_same_map_and_other_seed_other_map():
    first = random_nuclei_labels(rng=np.random.default_rng(5), preset="monuseg")
    again = random_nuclei_labels(rng=np.random.default_rng(5), preset="monuseg")
    other = random_nuclei_labels(rng=np.random.default_rng(6), preset="monuseg")
    np.testing.assert_array_equal(first, again)
    assert first.max() > 0 and not np.array_equal(first, other)


@pytest.mark.parametrize("params", [{}, dict(touch_probability=1.0, max_overlap=1.0,
                                             density=150.0)])
def test_int32_shape_and_consecutive_ids(params):
    # The second case hides whole nuclei under later ones, which must be renumbered away.
    rng = np.random.default_rng(1)
    for _ in range(10):
        labels = random_nuclei_labels((200, 300), rng=rng, **params)
        assert labels.dtype == np.int32 and labels.shape == (200, 300)
        ids = np.unique(labels)
        np.testing.assert_array_equal(ids, np.arange(ids.size))


def test_size_and_count_match_requested_params_over_50_masks():
    summary = _summary(50, mean_radius=9.0, radius_log_std=0.2, density=20.0, **_PLAIN)
    # Noise: ~900 radii with 20% spread -> 0.7% on the mean; 50 Poisson(20) -> 3%.
    assert summary["mean_radius"] == pytest.approx(9.0, rel=0.04)
    assert summary["radius_log_std"] == pytest.approx(0.2, abs=0.03)
    assert summary["count_per_map"] == pytest.approx(20.0, rel=0.1)


def test_per_image_size_bias_spreads_image_means():
    plain = _summary(40, **_PLAIN)
    biased = _summary(40, **{**_PLAIN, "size_bias_log_std": 0.3})
    assert plain["size_bias_log_std"] < 0.08  # only sampling noise of ~25 nuclei per map
    assert biased["size_bias_log_std"] == pytest.approx(0.3, abs=0.08)


def test_magnification_20x_halves_radii():
    at_40x = _summary(30, mean_radius=12.0, magnification=40.0, **_PLAIN)
    at_20x = _summary(30, mean_radius=12.0, magnification=20.0, **_PLAIN)
    assert at_20x["mean_radius"] / at_40x["mean_radius"] == pytest.approx(0.5, rel=0.05)
    assert at_20x["count_per_map"] == pytest.approx(at_40x["count_per_map"], rel=0.1)


def test_no_contact_when_touching_disabled():
    rng = np.random.default_rng(2)
    for _ in range(30):
        labels = random_nuclei_labels(rng=rng, density=60.0, touch_probability=0.0,
                                      max_overlap=0.0)
        assert measure_label_stats(labels).touching == 0


def test_touch_probability_controls_fraction_of_touching_nuclei():
    fractions = [_summary(30, touch_probability=p, max_overlap=0.0)["touching_fraction"]
                 for p in (0.0, 0.2, 0.6)]
    assert fractions[0] == 0.0
    # Each touching nucleus also puts the nucleus it touches in contact: ~2p when rare.
    assert 0.2 < fractions[1] < 0.5
    assert fractions[2] > fractions[1] + 0.2


def test_max_overlap_bounds_how_much_of_a_nucleus_is_hidden():
    common = dict(mean_radius=10.0, radius_log_std=0.1, size_bias_log_std=0.0,
                  touch_probability=1.0, density=30.0)
    # Touch only: every nucleus keeps its whole polygon, so sizes stay as requested.
    touch_only = _summary(30, max_overlap=0.0, **common)
    deep = _summary(30, max_overlap=0.5, **common)
    assert touch_only["touching_fraction"] > 0.9
    assert touch_only["mean_radius"] == pytest.approx(10.0, rel=0.04)
    assert deep["mean_radius"] < 0.95 * touch_only["mean_radius"]


def test_kwargs_override_preset_fields():
    rng = np.random.default_rng(3)
    labels = random_nuclei_labels(rng=rng, preset="cpm15", density=0.001)
    assert labels.max() == 0  # Poisson(0.001) is almost surely 0 for this seed
    base = PRESETS["monuseg"]
    assert dataclasses.replace(base, magnification=20.0).mean_radius == base.mean_radius


def test_bad_arguments_raise_naming_the_problem():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="'radius'"):
        random_nuclei_labels(rng=rng, radius=3.0)
    with pytest.raises(ValueError, match="NucleiParams.spikiness"):
        random_nuclei_labels(rng=rng, spikiness=1.5)
    with pytest.raises(ValueError, match="NucleiParams.max_vertices"):
        NucleiParams(min_vertices=12, max_vertices=11)
    with pytest.raises(ValueError, match="NucleiParams.max_tries"):
        NucleiParams(max_tries=0.5)
    with pytest.raises(ValueError, match="preset.*'lizard'"):
        random_nuclei_labels(rng=rng, preset="lizard")
    with pytest.raises(ValueError, match="shape"):
        random_nuclei_labels((256,), rng=rng)
    with pytest.raises(TypeError, match="rng"):
        random_nuclei_labels(rng=0)
    with pytest.raises(TypeError):
        NucleiParams(10.0)  # keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["tnbc"].density = 3.0


def _real_summary(datasets_dir, folder, keep=lambda stem: True, every=1):
    paths = [p for p in sorted((datasets_dir / folder / "masks").glob("*.png")) if keep(p.stem)]
    return measure_tiles(read_mask(path) for path in paths[::every])


# (preset, dataset folder, which masks, every n-th mask): MoNuSeg is subsampled for speed.
# TNBC: the slides the preset is fitted on; 01-02 are the held-out test slides (issue 20).
_PRESET_DATA = [
    ("tnbc", "tnbc", lambda stem: stem.split("_")[0] in _TNBC_FIT_SLIDES, 1),
    ("cpm15", "cpm15", lambda stem: stem not in _CPM15_20X, 1),
    ("cpm15_20x", "cpm15", lambda stem: stem in _CPM15_20X, 1),
    ("monuseg", "monuseg", lambda stem: True, 2),
]


@pytest.mark.parametrize("preset, folder, keep, every", _PRESET_DATA, ids=[p[0] for p in _PRESET_DATA])
def test_preset_matches_real_masks(datasets_dir, preset, folder, keep, every):
    real = _real_summary(datasets_dir, folder, keep, every)
    synthetic = _summary(150, seed=11, preset=preset)
    # Tolerances cover sampling noise of the real subsets (5-18 images) and of 150 maps.
    assert synthetic["mean_radius"] == pytest.approx(real["mean_radius"], rel=0.08)
    assert synthetic["count_per_map"] == pytest.approx(real["count_per_map"], rel=0.15)
    assert synthetic["touching_fraction"] == pytest.approx(real["touching_fraction"], abs=0.06)
    assert synthetic["mean_aspect_ratio"] == pytest.approx(real["mean_aspect_ratio"], rel=0.1)
