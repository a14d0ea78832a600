"""Shipping trained models: SavedModel export for TF Serving (versioned, atomic, no Python
ops in the graph), its clients, and packaging runs as pretrained models
(`pretrained_packaging.py`).
"""

from tf_esgan.serving.generator_export import export_generator
from tf_esgan.serving.segnet_export import export_segnet
from tf_esgan.serving.versioned_dir import VersionExistsError

__all__ = ["VersionExistsError", "export_generator", "export_segnet"]
