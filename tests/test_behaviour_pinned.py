"""Golden numbers of a tiny GAN run and a tiny SegNet run, recorded before the issue-14 refactors
(commit b6289c6: the GAN's own loop, SegNet on `fit`) and equal after them (one shared loop,
generated flags, moved modules): a refactor that changes what training computes fails here.

Recorded on the project's 2-core AVX-512 CPU machines, float32; the tolerance allows for
another CPU's summation order, not for a changed computation (a changed seed, data order,
loss or optimizer moves these sums by far more than 1e-4).
"""

import keras
import numpy as np

from tf_esgan.data.datasets import sample_root
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainerConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

from conftest import tiny_train_config

GAN_WEIGHT_SUMS = [0.9542832970619202, 0.00098826689645648, 8.565816879272461, 7.999916076660156,
                   0.001290942425839603, 32.403282165527344]
GAN_LOSSES = {"d_loss": 1.3747447331746419, "g_adv": 0.6420020858446757, "l1": 0.42433762550354004,
              "ls1": 0.000849738830311253, "ls2": 3.3155073324839273, "g_total": 46.39211908976237}
SEGNET_WEIGHT_SUMS = [15.865081787109375, 3.999821424484253, 0.005879492033272982, 0.020547866821289062,
                      3.922534942626953, 20.497982025146484]


def test_tiny_gan_run_is_unchanged(tmp_path):
    config = tiny_train_config(sample_root(), tmp_path / "gan", image_size=32, generator_base_filters=4,
                               generator_depth=5, discriminator_base_filters=4, batch_size=1, test_fraction=0.25,
                               epochs=1, steps_per_epoch=3, verbose=0, dtype_policy="float32")
    result = train_and_evaluate(config, log=lambda message: None)
    sums = [float(np.sum(np.abs(weight.numpy()))) for weight in result.generator.weights[:6]]
    np.testing.assert_allclose(sums, GAN_WEIGHT_SUMS, rtol=1e-4)
    for name, value in GAN_LOSSES.items():
        np.testing.assert_allclose(result.losses[name], value, rtol=1e-4, err_msg=name)


def test_tiny_segnet_run_is_unchanged(tmp_path):
    config = SegNetTrainConfig(
        data=SegNetDataConfig(train_set="R", dataset_dir=str(sample_root()), crop_size=64, test_fraction=0.25),
        model=SegNetConfig(base_filters=4, dtype_policy="float32"),
        trainer=SegNetTrainerConfig(epochs=1, steps_per_epoch=2, batch_size=2, tune_images=2))
    model = keras.models.load_model(train_segnet(config, tmp_path / "segnet", verbose=0), compile=False)
    sums = [float(np.sum(np.abs(weight))) for weight in model.get_weights()[:6]]
    np.testing.assert_allclose(sums, SEGNET_WEIGHT_SUMS, rtol=1e-4)
