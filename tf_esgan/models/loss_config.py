"""Loss configuration of the GAN (weights of Eq. 1 and the contour-loss switches)."""

from __future__ import annotations

import dataclasses

from tf_esgan.config_fields import choice_field
from tf_esgan.models.variants import VARIANTS, Variant, get_variant


@dataclasses.dataclass(frozen=True, kw_only=True)
class GanLossConfig:
    """Weights of the generator objective and how contour losses run.

    Generator loss (Eq. 1 plus pix2pix's L1 term):
        g_total = g_adv + l1_weight * l1 + ls1 + beta * ls2
    where for the Sharp-GAN baselines ls1 = 0 and ls2 is Sharp-GAN's term.

    Attributes:
      variant: "pix2pix", "sharp_gan", "sharp_gan_plus" or "enhanced" (Table 1).
      l1_weight: weight of the pixel L1 term (pix2pix's lambda = 100).
      beta: weight of the sharpness term (beta of Eq. 1; not given in the paper).
      lam: lambda of Eq. 7, contrast scale in gray units [0, 1] (not given in the paper).
      contour_xla: run the contour losses in a `tf.function(jit_compile=True)`.
    """

    variant: str = choice_field(choices=sorted(VARIANTS))
    l1_weight: float = 100.0
    beta: float = 1.0
    lam: float = 0.1
    contour_xla: bool = True

    def __post_init__(self) -> None:
        get_variant(self.variant)
        for field in ("l1_weight", "beta"):
            if getattr(self, field) < 0:
                raise ValueError(f"GanLossConfig: `{field}` must be >= 0, got {getattr(self, field)}.")
        if not self.lam > 0:
            raise ValueError(f"GanLossConfig: `lam` must be > 0, got {self.lam}.")

    @property
    def variant_spec(self) -> Variant:
        return get_variant(self.variant)
