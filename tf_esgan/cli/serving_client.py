"""esgan-client: send a mask or a conditioning map to a served generator, save the image.

    python -m tf_esgan.cli.serving_client --mask=mask.png --out=generated.png          # REST, from_mask
    python -m tf_esgan.cli.serving_client --skeleton_map=map.npy --out=generated.png  # REST, serving_default
    python -m tf_esgan.cli.serving_client --protocol=grpc --server=localhost:8500 --mask=mask.png --out=x.png

The library functions are in tf_esgan/serving/client.py.
"""

import numpy as np
from absl import flags

from tf_esgan.cli.app import fail, run_command
from tf_esgan.data.image_io import read_mask, write_image
from tf_esgan.serving.client import grpc_predict, rest_predict

_PROTOCOL = flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "TF Serving API to call.")
_SERVER = flags.DEFINE_string("server", "localhost:8501", "host:port (REST 8501, gRPC 8500 by default).")
_MODEL_NAME = flags.DEFINE_string("model_name", "esgan_generator", "Served model name.")
_MASK = flags.DEFINE_string("mask", None, "Instance label map or binary mask PNG -> signature from_mask.")
_SKELETON_MAP = flags.DEFINE_string("skeleton_map", None, ".npy conditioning map [H, W] or [H, W, 1] -> serving_default.")
_OUT = flags.DEFINE_string("out", "generated.png", "Where to write the returned RGB image.")


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    if bool(_MASK.value) == bool(_SKELETON_MAP.value):
        fail("esgan-client", "give exactly one of --mask (PNG label map or binary mask) or --skeleton_map (.npy)")
    if _MASK.value:
        signature, inputs = "from_mask", {"mask": read_mask(_MASK.value)[None].astype(np.int32)}
    else:
        condition = np.load(_SKELETON_MAP.value).astype(np.float32)
        signature, inputs = "serving_default", {"skeleton_map": condition.reshape(1, *condition.shape[:2], -1)}
    if _PROTOCOL.value == "grpc":
        outputs = grpc_predict(_SERVER.value, _MODEL_NAME.value, inputs, signature_name=signature)
    else:
        outputs = rest_predict(_SERVER.value, _MODEL_NAME.value, inputs, output_names=("image",),
                               signature_name=signature, dtypes={"image": np.uint8})
    write_image(_OUT.value, outputs["image"][0].astype(np.uint8))
    print(_OUT.value)
    return 0


def run() -> None:
    run_command(main, "esgan-client")


if __name__ == "__main__":
    run()
