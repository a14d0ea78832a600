"""The four models of the paper's Table 1, as one switch.

| variant         | Table 1 row  | condition x            | contour term             |
|-----------------|--------------|------------------------|--------------------------|
| pix2pix         | pix2pix [9]  | binary mask, 0/1       | none                     |
| sharp_gan       | Sharp-GAN [8]| distance map, [0, 1]   | Sharp-GAN sharpness loss |
| sharp_gan_plus  | Sharp-GAN+   | skeleton map, [0, 2]   | Sharp-GAN sharpness loss |
| enhanced        | Ours         | skeleton map, [0, 2]   | L_s1 + beta * L_s2       |
"""

from __future__ import annotations

import dataclasses

from tf_esgan.data.skeleton import CONDITIONINGS
CONTOUR_LOSSES = ("none", "sharp_gan", "enhanced")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Variant:
    """One row of Table 1.

    Attributes:
      name: switch value, e.g. "enhanced".
      conditioning: kind of condition map the data pipeline must produce.
      contour_loss: "none", "sharp_gan" (Sharp-GAN's term, weighted by beta) or
        "enhanced" (L_s1 + beta * L_s2, Eq. 1).
      condition_channels: channels of the condition map (all kinds are one map).
    """

    name: str
    conditioning: str
    contour_loss: str
    condition_channels: int = 1

    def __post_init__(self) -> None:
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(f"Variant {self.name!r}: `conditioning` must be one of {CONDITIONINGS}.")
        if self.contour_loss not in CONTOUR_LOSSES:
            raise ValueError(f"Variant {self.name!r}: `contour_loss` must be one of {CONTOUR_LOSSES}.")


VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        Variant(name="pix2pix", conditioning="binary", contour_loss="none"),
        Variant(name="sharp_gan", conditioning="distance", contour_loss="sharp_gan"),
        Variant(name="sharp_gan_plus", conditioning="skeleton", contour_loss="sharp_gan"),
        Variant(name="enhanced", conditioning="skeleton", contour_loss="enhanced"),
    )
}


def get_variant(name: str) -> Variant:
    """The Variant called `name`; ValueError listing the valid names otherwise."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {name!r}.") from None
