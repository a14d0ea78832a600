"""Shared fixtures: where the real datasets live, deterministic RNGs, tiny GAN run configs."""

import dataclasses
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from tf_esgan.runs.run_dir import config_to_dict
from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """`../shared` beside the repository, or $ESGAN_SHARED."""
    return Path(os.environ.get("ESGAN_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """Root of the real datasets in canonical layout (tnbc, cpm15, monuseg).

    CI always has them, so a missing folder fails there; on a user's machine
    without `../shared` the tests that need real data are skipped with the reason.
    """
    root = shared_dir() / "datasets"
    if not (root / "tnbc" / "masks").is_dir():
        msg = f"real datasets not found at {root} (set ESGAN_SHARED to the folder holding datasets/)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


TINY_PRETRAINED_NAME = "tiny"


def _jitter_normalization(model, rng: np.random.Generator) -> None:
    """Moves norm weights and statistics off their initial 0/1, so float16 storage is tested
    on values it must round."""
    for variable in model.weights:
        leaf = variable.path.rsplit("/", 1)[-1]
        value = variable.numpy()
        if leaf in ("gamma", "moving_variance"):
            variable.assign(value * rng.uniform(0.6, 1.6, value.shape).astype(value.dtype))
        elif leaf in ("beta", "moving_mean"):
            variable.assign(value + rng.normal(0, 0.2, value.shape).astype(value.dtype))


@pytest.fixture(scope="session")
def tiny_pretrained(tmp_path_factory) -> dict:
    """A models folder holding a tiny random generator and SegNet packaged as "tiny".

    Returns {"directory", "name", "generator", "network", "segnet", "watershed"}: the
    float32 originals, to compare the loaded float16 models with. Tests that load by
    `pretrained:tiny` set $ESGAN_PRETRAINED_DIR with the `pretrained_env` fixture.
    """
    import keras

    from tf_esgan.models.generator import build_generator
    from tf_esgan.models.networks import NetworkConfig, generator_config
    from tf_esgan.models.segnet import SegNetConfig, build_segnet
    from tf_esgan.serving.pretrained_packaging import package_generator, package_segnet
    from tf_esgan.segmentation.postprocess import WatershedConfig

    directory = tmp_path_factory.mktemp("pretrained")
    keras.utils.set_random_seed(5)
    jitter = np.random.default_rng(5)
    network = NetworkConfig(image_size=32, generator_base_filters=4, generator_depth=5,
                            discriminator_base_filters=4, upsampling="resize")
    generator = build_generator(generator_config("enhanced", network))
    _jitter_normalization(generator, jitter)
    segnet_config = SegNetConfig(base_filters=4)
    segnet = build_segnet(segnet_config)
    _jitter_normalization(segnet, jitter)
    watershed = WatershedConfig(foreground_threshold=0.5, marker_threshold=0.5, min_area=5)
    card = {"data": "none: random weights for tests"}
    package_generator(generator, name=TINY_PRETRAINED_NAME, variant="enhanced", network=network, card=card,
                      directory=directory)
    package_segnet(segnet, name=TINY_PRETRAINED_NAME, segnet_config=segnet_config, watershed=watershed,
                   card=card, directory=directory)
    return {"directory": directory, "name": TINY_PRETRAINED_NAME, "generator": generator, "network": network,
            "segnet": segnet, "watershed": watershed}


@pytest.fixture
def pretrained_env(tiny_pretrained, monkeypatch) -> dict:
    """`tiny_pretrained`, with $ESGAN_PRETRAINED_DIR pointing at it (so `pretrained:tiny` works)."""
    from tf_esgan.pretrained.registry import DIRECTORY_ENV

    monkeypatch.setenv(DIRECTORY_ENV, str(tiny_pretrained["directory"]))
    return tiny_pretrained


# A GAN small enough for CPU tests: 32 px crops, 4-filter networks, one step of one epoch.
# contour_xla off: XLA-compiling the contour losses costs each tiny run seconds and none of the
# tests using these sizes is about it; tests/models/test_gan.py compares the XLA path with this
# one, and the pinned runs, the toy reproduction and the main CLI test train with it.
TINY_GAN = dict(image_size=32, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4,
                epochs=1, steps_per_epoch=1, test_fraction=0.25, verbose=0, contour_xla=False)


def tiny_generator(*, seed: int, image_size: int, filters: int):
    """An untrained enhanced-variant generator of depth 5 with widths `filters`, weights from `seed`."""
    import keras

    from tf_esgan.models.networks import NetworkConfig, build_networks

    keras.utils.set_random_seed(seed)
    generator, _ = build_networks("enhanced", NetworkConfig(image_size=image_size, generator_base_filters=filters,
                                                            generator_depth=5, discriminator_base_filters=filters))
    return generator


def tiny_train_config(dataset_dir, model_dir, **overrides) -> TrainConfig:
    """A TrainConfig of TINY_GAN's sizes; `overrides` name leaf fields (epochs=2, variant="sharp_gan").

    Each value lands in the section that defines its field; TrainConfig's defaults fill the rest
    (dtype_policy "auto" included, unless given).
    """
    leaves = {**TINY_GAN, **overrides}
    base = TrainConfig(data=GanDataConfig(dataset_dir=str(dataset_dir)),
                       runtime=RuntimeConfig(model_dir=str(model_dir)))
    sections = {}
    for section in dataclasses.fields(TrainConfig):
        value = getattr(base, section.name)
        names = {field.name for field in dataclasses.fields(value)}
        sections[section.name] = dataclasses.replace(value, **{k: v for k, v in leaves.items() if k in names})
        leaves = {k: v for k, v in leaves.items() if k not in names}
    if leaves:
        raise TypeError(f"tiny_train_config: no TrainConfig field {sorted(leaves)}")
    if "dtype_policy" not in overrides:  # let TrainConfig resolve "auto" as for a default run
        sections["model"] = dataclasses.replace(sections["model"], dtype_policy="auto")
    return TrainConfig(**sections)


# The fields of config.json as esgan-train wrote it before the config was nested (one flat dict).
FLAT_TRAIN_CONFIG_FIELDS = (
    "dataset_dir", "model_dir", "variant", "epochs", "steps_per_epoch", "batch_size", "learning_rate", "l1_weight",
    "beta", "lam", "image_size", "generator_base_filters", "generator_depth", "discriminator_base_filters", "norm",
    "upsampling", "dropout_rate", "dtype_policy", "test_fraction", "seed", "split_seed", "jit_compile", "strategy",
    "checkpoint_every_steps", "keep_checkpoints", "max_train_seconds", "overwrite", "verbose")


def flat_train_config_json(config: TrainConfig) -> dict:
    """The flat config.json the earlier (un-nested) esgan-train wrote for the run `config` describes."""
    flat = {}
    for section in config_to_dict(config).values():
        flat.update(section)
    return {name: flat[name] for name in FLAT_TRAIN_CONFIG_FIELDS}


def free_local_ports(count: int) -> list[int]:
    """`count` TCP ports on 127.0.0.1 that were free a moment ago (for TF_CONFIG clusters)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture
def free_ports():
    """The `free_local_ports` function (a fixture, since tests/ is not a package)."""
    return free_local_ports
