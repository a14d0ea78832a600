"""Synthetic nucleus instance label maps: random star-shaped polygons after Hou et al.

The paper (Sec. 2.2 and 3.3) adopts the mask generator of Hou et al., CVPR 2019 (its ref. [7]):
"randomly generates nucleus-like polygons with variable size and irregularities. The
generated polygons can be set to overlap or touch to each other." This module
re-implements that idea from its description, with three changes:
- every nucleus keeps its own id (Hou et al. keep only the union), later nuclei win
  contested pixels, and ids are renumbered 1..N after fully hidden nuclei are dropped;
- contact is an explicit control: a nucleus is either free (kept at least one pixel away
  from all earlier ones) or, with probability `touch_probability`, slid against an earlier
  one until it touches, then pushed in by a random depth bounded by `max_overlap`;
- sizes are set as equivalent radii (sqrt(area / pi)) so presets can be fitted to the
  datasets measured with `tf_esgan.data.label_stats`.

Presets (`PRESETS`) are fitted to 256 x 256 crops of the shared datasets' masks; the
measured values are in BUILD_NOTES.md (section "Synthetic nuclei masks").
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from tf_esgan.data._nucleus_placement import place_nuclei

_REFERENCE_AREA = 256 * 256  # `density` counts nuclei per this many pixels
_REFERENCE_MAGNIFICATION = 40.0  # radii are given at 40x
# cv2.fillPoly also fills the pixels the outline crosses, which adds ~0.5 px to the
# equivalent radius at every size (measured for radii 3-20 px), so polygons are drawn
# that much smaller than their target.
_FILL_RADIUS_BIAS = 0.5
_MIN_RADIUS = 1.5  # px; smaller polygons rasterise to a few pixels or nothing
_SUBPIXEL_BITS = 4  # cv2.fillPoly `shift`: vertices on a 1/16 px grid


@dataclasses.dataclass(frozen=True, kw_only=True)
class NucleiParams:
    """Parameters of `random_nuclei_labels`.

    Attributes:
      mean_radius: mean equivalent radius sqrt(area / pi) of a nucleus at 40x, px.
      radius_log_std: std of log radius between nuclei of one image (lognormal, mean kept).
      size_bias_log_std: std of a per-image log size factor shared by all its nuclei.
      irregularity: angular step jitter in [0, 1]; each step between vertices is
        2 pi / n * (1 + irregularity * U(-1, 1)), renormalised to a full turn.
      spikiness: radial jitter in [0, 1]; vertex radius = r * (1 + spikiness * N(0, 1)),
        clipped to [0.2 r, 2 r].
      min_vertices, max_vertices: vertex count drawn uniformly in this range (Hou: 10-17).
      elongation: aspect ratio of a nucleus is 1 + elongation * U(0, 1), area kept.
      density: mean nuclei count per 256 x 256 px (centres inside the image).
      density_log_std: std of a per-image log factor on the count (mean kept).
      touch_probability: chance that a nucleus is placed against an earlier one; the
        others keep one free pixel from every earlier nucleus.
      max_overlap: largest share of a nucleus (of the smaller one of each pair) that a
        touching nucleus may hide; 0 = touch only.
      max_tries: placements tried per nucleus before it is left out.
      magnification: 40 or 20 (any value > 0); radii scale with magnification / 40.
    """

    mean_radius: float = 10.0
    radius_log_std: float = 0.25
    size_bias_log_std: float = 0.12
    irregularity: float = 0.85
    spikiness: float = 0.08
    min_vertices: int = 10
    max_vertices: int = 17
    elongation: float = 0.5
    density: float = 25.0
    density_log_std: float = 0.5
    touch_probability: float = 0.15
    max_overlap: float = 0.1
    max_tries: int = 20
    magnification: float = 40.0

    def __post_init__(self):
        def check(name, ok, expected):
            if not ok:
                raise ValueError(
                    f"NucleiParams.{name}: expected {expected}, got {getattr(self, name)!r}")

        for name in ("mean_radius", "magnification", "density"):
            check(name, _is_real(getattr(self, name)) and getattr(self, name) > 0, "a number > 0")
        for name in ("radius_log_std", "size_bias_log_std", "density_log_std", "elongation"):
            check(name, _is_real(getattr(self, name)) and getattr(self, name) >= 0,
                  "a number >= 0")
        for name in ("irregularity", "spikiness", "touch_probability", "max_overlap"):
            check(name, _is_real(getattr(self, name)) and 0 <= getattr(self, name) <= 1,
                  "a number in [0, 1]")
        for name in ("min_vertices", "max_vertices", "max_tries"):
            check(name, _is_int(getattr(self, name)) and getattr(self, name) >= 1,
                  "an integer >= 1")
        check("min_vertices", self.min_vertices >= 3, "an integer >= 3")
        check("max_vertices", self.max_vertices >= self.min_vertices,
              f"an integer >= min_vertices ({self.min_vertices})")


def _is_real(value) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and math.isfinite(value))


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# Fitted to 256 x 256 crops of the shared masks (benchmarks/measure_nuclei_stats.py);
# see BUILD_NOTES.md for the measured numbers they reproduce.
PRESETS: dict[str, NucleiParams] = {
    # TNBC instances are connected components of a binary ground truth, so touching
    # nuclei are merged: few contacts, elongated blobs, widely varying density.
    # Fitted on TNBC slides 03-07 only (23 masks, 92 tiles; measure_nuclei_stats.py
    # --tnbc_slides=03,04,05,06,07): slides 01-02 are the held-out test slides and must
    # not inform the preset (issue 20). Real vs synthetic (10,000 maps, seeds 1-5): mean r
    # 10.31 / 10.32 px, r log-std 0.352 / 0.354, size-bias log-std 0.170 / 0.169,
    # count/256^2 24.5 / 24.9, count CV 0.80 / 0.79, touching 0.0124 / 0.0123, aspect
    # 1.746 / 1.745.
    "tnbc": NucleiParams(mean_radius=11.15, radius_log_std=0.38, size_bias_log_std=0.14,
                         elongation=1.58, density=26.5, density_log_std=0.82,
                         touch_probability=0.006),
    # CPM-15's 40x images (image08-15); "cpm15_20x" fits its 20x images (image01-07).
    "cpm15": NucleiParams(mean_radius=13.2, radius_log_std=0.345, size_bias_log_std=0.135,
                          elongation=1.1, density=24.8, density_log_std=0.435,
                          touch_probability=0.137),
    "cpm15_20x": NucleiParams(mean_radius=14.2, radius_log_std=0.40, size_bias_log_std=0.215,
                              elongation=2.1, density=57.0, density_log_std=0.41,
                              touch_probability=0.15, magnification=20.0),
    "monuseg": NucleiParams(mean_radius=12.4, radius_log_std=0.255, size_bias_log_std=0.19,
                            elongation=1.33, density=35.1, density_log_std=0.386,
                            touch_probability=0.13),
}


def random_nuclei_labels(shape: tuple[int, int] = (256, 256), *, rng: np.random.Generator,
                         preset: str | None = None, **params) -> np.ndarray:
    """Draws a random nucleus instance label map.

    Args:
      shape: (height, width) of the map in pixels.
      rng: the only source of randomness; the same generator state gives the same map.
      preset: a key of `PRESETS` to start from, or None for the `NucleiParams` defaults.
      **params: `NucleiParams` fields overriding the preset.

    Returns:
      int32 [H, W]: 0 = background, 1..N = nuclei with consecutive ids (N may be 0).

    Raises:
      TypeError: an unknown parameter name, or `rng` not a numpy Generator.
      ValueError: an unknown preset, a bad shape or a parameter out of range.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if preset is None:
        base = NucleiParams()
    elif preset in PRESETS:
        base = PRESETS[preset]
    else:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)} or None, got {preset!r}")
    fields = {field.name for field in dataclasses.fields(NucleiParams)}
    for name in params:
        if name not in fields:
            raise TypeError(f"random_nuclei_labels: unknown parameter {name!r}; "
                            f"expected NucleiParams fields {sorted(fields)}")
    config = dataclasses.replace(base, **params)
    if (len(shape) != 2 or not all(_is_int(side) and side > 0 for side in shape)):
        raise ValueError(f"shape: expected (height, width) of positive ints, got {shape!r}")
    height, width = int(shape[0]), int(shape[1])

    density_factor = rng.lognormal(-config.density_log_std**2 / 2, config.density_log_std)
    count = rng.poisson(config.density * density_factor * height * width / _REFERENCE_AREA)
    radii = _nucleus_radii(config, count, rng)
    polygons = _star_polygons(config, radii, rng)
    stamps = [_rasterise(vertices) for vertices in polygons]
    return place_nuclei((height, width), stamps, radii, config.touch_probability,
                        config.max_overlap, config.max_tries, rng)


def _nucleus_radii(config: NucleiParams, count: int, rng: np.random.Generator) -> np.ndarray:
    """Equivalent radii (px) of `count` nuclei: float64 [count], mean ~ the scaled mean."""
    scale = config.mean_radius * config.magnification / _REFERENCE_MAGNIFICATION
    # Lognormal factors with location -sigma^2 / 2 have mean 1, so the mean stays `scale`.
    bias = rng.lognormal(-config.size_bias_log_std**2 / 2, config.size_bias_log_std)
    spread = rng.lognormal(-config.radius_log_std**2 / 2, config.radius_log_std, count)
    return np.maximum(scale * bias * spread, _MIN_RADIUS)


def _star_polygons(config: NucleiParams, radii: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Random star-shaped polygons with the given equivalent radii, all at once.

    Returns:
      float64 [count, max_vertices, 2] (x, y) offsets from the centre. Polygons with fewer
      vertices repeat their last vertex, which adds neither area nor an edge.
    """
    count, slots = radii.size, config.max_vertices
    vertices = rng.integers(config.min_vertices, config.max_vertices + 1, count)
    used = np.arange(slots)[None, :] < vertices[:, None]
    steps = 1 + config.irregularity * rng.uniform(-1, 1, (count, slots))
    steps = np.where(used, steps, 0.0)
    steps *= 2 * np.pi / steps.sum(axis=1, keepdims=True)
    angles = np.cumsum(steps, axis=1) - steps + rng.uniform(0, 2 * np.pi, (count, 1))
    reach = np.clip(1 + config.spikiness * rng.standard_normal((count, slots)), 0.2, 2.0)
    last = vertices - 1
    angles = np.where(used, angles, angles[np.arange(count), last][:, None])
    reach = np.where(used, reach, reach[np.arange(count), last][:, None])
    x, y = reach * np.cos(angles), reach * np.sin(angles)
    # Stretch along x, squeeze along y (area kept), then turn by a random axis angle.
    stretch = np.sqrt(1 + config.elongation * rng.uniform(0, 1, (count, 1)))
    x, y = x * stretch, y / stretch
    axis = rng.uniform(0, np.pi, (count, 1))
    x, y = x * np.cos(axis) - y * np.sin(axis), x * np.sin(axis) + y * np.cos(axis)
    area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))
    target = np.maximum(radii - _FILL_RADIUS_BIAS, _MIN_RADIUS / 2)
    scale = (target / np.sqrt(area / np.pi))[:, None]
    return np.stack([x * scale, y * scale], axis=-1)


def _rasterise(vertices: np.ndarray) -> np.ndarray:
    """Fills one polygon centred on the middle pixel of a square with a 1-px margin.

    Args:
      vertices: float [V, 2] (x, y) offsets from the centre, px.

    Returns:
      uint8 [S, S] in {0, 1}, S odd, the polygon's centre at pixel (S // 2, S // 2), and
      an empty border row/column so that a 3 x 3 dilation stays inside.
    """
    half = int(np.ceil(np.abs(vertices).max())) + 2
    canvas = np.zeros((2 * half + 1, 2 * half + 1), np.uint8)
    points = np.round((vertices + half) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(canvas, [points], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return canvas
