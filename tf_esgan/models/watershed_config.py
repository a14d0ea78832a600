"""Thresholds of the watershed that turns SegNet's two output maps into nuclei.

The watershed itself is `segmentation/postprocess.py`; the config lives beside
`SegNetConfig` because a trained SegNet is only usable with its tuned thresholds: the
pretrained store and run folders record them with the network, and loading one
(`pretrained/`) must not depend on segmentation's training code.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatershedConfig:
    """Post-processing thresholds.

    Attributes:
      foreground_threshold: nucleus probability above which a pixel is nucleus, in (0, 1).
      marker_threshold: distance-map value above which a foreground pixel seeds a marker, in (0, 1).
      min_area: instances with fewer pixels are removed (set to background).
    """

    foreground_threshold: float = 0.5
    marker_threshold: float = 0.5
    min_area: int = 10

    def __post_init__(self) -> None:
        for name in ("foreground_threshold", "marker_threshold"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"WatershedConfig: `{name}` must be in (0, 1), got {value}")
        if self.min_area < 0:
            raise ValueError(f"WatershedConfig: `min_area` must be >= 0, got {self.min_area}")
