"""Enhanced Sharp-GAN (and its Table 1 baselines) as a Keras model.

One training step is a discriminator step followed by a generator step, each
with its own tape and optimizer:

    D minimises  d_loss  = -log D(x, y) - log(1 - D(x, G(x)))          (Eqs. 2-3)
    G minimises  g_total = g_adv + l1_weight * l1 + ls1 + beta * ls2     (Eq. 1)

with g_adv the non-saturating -log D(x, G(x)), l1 = mean |y - G(x)| (pix2pix)
and ls1 / ls2 the contour terms of the variant (see variants.py). Each step
runs the generator forward itself, so `discriminator_step` and
`generator_step` can be called on their own (e.g. from a distributed loop).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras
import tensorflow as tf

from tf_esgan.losses import adversarial, contour
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.precision import model_uses_float16, with_loss_scaling
from tf_esgan.models.xla_conv import set_nested_xla

LOSS_NAMES = ("d_loss", "g_adv", "l1", "ls1", "ls2", "g_total")

ContourTerms = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def _unpack(data: Any) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    if not isinstance(data, (list, tuple)) or len(data) != 3:
        raise ValueError(
            "EnhancedSharpGAN: each batch must be a tuple (condition [B,H,W,1], image [B,H,W,3] "
            f"in [-1, 1], contour [B,H,W,1] 0/1), got {type(data).__name__} of "
            f"{len(data) if isinstance(data, (list, tuple)) else 1} element(s)."
        )
    condition, image, contour_mask = data
    return condition, image, contour_mask


def make_contour_terms(config: GanLossConfig, *, step_is_xla: bool = False) -> ContourTerms | None:
    """(fake image, contour) -> (ls1, ls2) float32 scalars for the variant, or None for pix2pix.

    For the Sharp-GAN baselines ls1 is 0 and ls2 is Sharp-GAN's sharpness term.
    `config.contour_xla` wraps them in their own XLA function, except when the
    whole step is already XLA-compiled (`step_is_xla`): a nested jit function
    there made every enhanced step ~20x slower than pix2pix on CPU (measured).
    """
    kind = config.variant_spec.contour_loss
    if kind == "none":
        return None
    lam = config.lam

    def terms(fake: tf.Tensor, contour_mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        gray = contour.to_gray(fake)
        if kind == "enhanced":
            return contour.smoothness_loss(gray, contour_mask), contour.sharpness_loss(gray, contour_mask, lam)
        return tf.zeros((), tf.float32), contour.sharp_gan_loss(gray, contour_mask, lam)

    if config.contour_xla and not step_is_xla:
        return tf.function(terms, jit_compile=True, reduce_retracing=True)
    return terms


@keras.saving.register_keras_serializable(package="tf_esgan")
class EnhancedSharpGAN(keras.Model):
    """Conditional GAN: `call(condition)` is G(x); `fit` trains G and D.

    Args:
      generator: condition [B,H,W,C] -> float32 image [B,H,W,3] in [-1, 1].
      discriminator: [condition, image] -> float32 logits [B,h,w,1].
      loss_config: GanLossConfig (variant, weights, contour XLA switch).

    Example:
      gan = EnhancedSharpGAN(generator, discriminator, GanLossConfig(variant="enhanced"))
      gan.compile(g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
      gan.fit(dataset_of_condition_image_contour, epochs=150)
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        loss_config: GanLossConfig | dict,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(loss_config, dict):
            loss_config = GanLossConfig(**loss_config)
        channels = loss_config.variant_spec.condition_channels
        if generator.inputs[0].shape[-1] != channels:
            raise ValueError(
                f"EnhancedSharpGAN: variant {loss_config.variant!r} feeds {channels}-channel condition "
                f"maps, but the generator expects {generator.inputs[0].shape[-1]} channels."
            )
        self.generator = generator
        self.discriminator = discriminator
        self.loss_config = loss_config
        self._contour_terms = make_contour_terms(loss_config)
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in LOSS_NAMES}
        self.g_optimizer: keras.optimizers.Optimizer | None = None
        self.d_optimizer: keras.optimizers.Optimizer | None = None
        self.built = True  # Both networks arrive built; nothing to infer from data.

    def compile(
        self,
        g_optimizer: keras.optimizers.Optimizer,
        d_optimizer: keras.optimizers.Optimizer,
        *,
        jit_compile: bool = False,
        loss_scaling: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """Sets the two optimizers.

        Args:
          g_optimizer, d_optimizer: Keras optimizers of G and D.
          jit_compile: XLA-compile the whole train/test step (separate from
            GanLossConfig.contour_xla, which compiles only the contour losses).
          loss_scaling: wrap both optimizers in LossScaleOptimizer; None means
            "if either network computes in float16" (mixed_float16).
          **kwargs: passed to keras.Model.compile (e.g. steps_per_execution).
        """
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self._contour_terms = make_contour_terms(self.loss_config, step_is_xla=bool(jit_compile))
        set_nested_xla(self.discriminator, not jit_compile)  # D's XlaConv2D logits: no XLA in XLA
        if loss_scaling is None:
            loss_scaling = model_uses_float16(self.generator) or model_uses_float16(self.discriminator)
        if loss_scaling:
            g_optimizer, d_optimizer = with_loss_scaling(g_optimizer), with_loss_scaling(d_optimizer)
        # Built here, outside any tf.function, so no variable is created in an XLA step.
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def call(self, condition: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(condition, training=training)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.loss_trackers.values())

    # Loss terms, shared by the training steps and test_step.

    def _discriminator_terms(self, real_logits: tf.Tensor, fake_logits: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"d_loss": adversarial.discriminator_loss(real_logits, fake_logits)}

    def _generator_terms(
        self, image: tf.Tensor, contour_mask: tf.Tensor, fake: tf.Tensor, fake_logits: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        config = self.loss_config
        fake = tf.cast(fake, tf.float32)
        g_adv = adversarial.generator_adversarial_loss(fake_logits)
        l1 = adversarial.l1_reconstruction_loss(tf.cast(image, tf.float32), fake)
        if self._contour_terms is None:
            ls1 = ls2 = tf.zeros((), tf.float32)
        else:
            ls1, ls2 = self._contour_terms(fake, tf.cast(contour_mask, tf.float32))
        g_total = g_adv + config.l1_weight * l1 + ls1 + config.beta * ls2
        return {"g_adv": g_adv, "l1": l1, "ls1": ls1, "ls2": ls2, "g_total": g_total}

    # Steps.

    def discriminator_step(self, batch: Any, fake: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """One update of D on (condition, image, contour); returns {"d_loss": ...}.

        `fake` is G's output for this batch if the caller already has it (train_step);
        otherwise G runs here, outside D's tape.
        """
        condition, image, _ = _unpack(batch)
        if fake is None:
            fake = self.generator(condition, training=True)
        fake = tf.stop_gradient(fake)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([condition, image], training=True)
            fake_logits = self.discriminator([condition, fake], training=True)
            terms = self._discriminator_terms(real_logits, fake_logits)
            scaled = self.d_optimizer.scale_loss(terms["d_loss"])
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return terms

    def generator_step(self, batch: Any, before_loss: Callable | None = None) -> dict[str, tf.Tensor]:
        """One update of G on (condition, image, contour); returns g_adv, l1, ls1, ls2, g_total.

        `before_loss(fake)`, if given, runs after G's forward pass and before G's loss,
        unrecorded by G's tape, and its returned terms are merged into the result:
        train_step updates D there on the same fake, so a step runs G forward once.
        """
        condition, image, contour_mask = _unpack(batch)
        variables = self.generator.trainable_variables
        earlier: dict[str, tf.Tensor] = {}
        with tf.GradientTape() as tape:
            fake = self.generator(condition, training=True)
            if before_loss is not None:
                with tape.stop_recording():
                    earlier = before_loss(fake)
            fake_logits = self.discriminator([condition, fake], training=True)
            terms = self._generator_terms(image, contour_mask, fake, fake_logits)
            scaled = self.g_optimizer.scale_loss(terms["g_total"])
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return {**earlier, **terms}

    def _record(self, terms: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for name, value in terms.items():
            self.loss_trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        if self.g_optimizer is None:
            raise RuntimeError("EnhancedSharpGAN: call compile(g_optimizer=..., d_optimizer=...) before fit.")
        # D is updated first, on this step's fake; G's loss then sees the updated D.
        terms = self.generator_step(data, before_loss=lambda fake: self.discriminator_step(data, fake))
        return self._record(terms)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        condition, image, contour_mask = _unpack(data)
        fake = self.generator(condition, training=False)
        real_logits = self.discriminator([condition, image], training=False)
        fake_logits = self.discriminator([condition, fake], training=False)
        terms = self._discriminator_terms(real_logits, fake_logits)
        terms.update(self._generator_terms(image, contour_mask, fake, fake_logits))
        return self._record(terms)

    def get_config(self) -> dict[str, Any]:
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "loss_config": dataclasses.asdict(self.loss_config),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> "EnhancedSharpGAN":
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)
