"""Pretrained generators and SegNets shipped in the package, loaded by name.

    from tf_esgan import pretrained
    pretrained.available()                      # {"generator": ["tnbc"], "segnet": ["tnbc"]}
    generator, conditioning = pretrained.load_generator("tnbc")
    segnet, watershed = pretrained.load_segnet("tnbc")

Command-line tools take the same models as `--model=pretrained:NAME`. Storage (float16
`.npz` + JSON record + `registry.json` with sha256 checksums, checked at every load) is
described in `registry.py`; `tools/package_pretrained.py` adds a trained run
(`tf_esgan.serving.pretrained_packaging`). Every `--model` / `--segnet` argument
(`pretrained:NAME`, a run folder or a `.keras` file) is loaded by `generator_loading.py`
and `segnet_loading.py`.
"""

from tf_esgan.pretrained.loading import load_generator, load_segnet, model_card
from tf_esgan.pretrained.registry import PREFIX, PretrainedModelError, available, pretrained_name

__all__ = ["PREFIX", "PretrainedModelError", "available", "load_generator", "load_segnet", "model_card",
           "pretrained_name"]
