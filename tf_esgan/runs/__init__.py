"""Run folders: the layout, config.json and owner of every run (`run_dir.py`, `run_owner.py`).

Shared by training, synthesis, segmentation, evaluation, the reproduction, serving and export;
loading a trained model from a run folder is `tf_esgan.pretrained.generator_loading` /
`segnet_loading`.
"""
