"""Run folders (config, lock, kind) and loading a trained generator or SegNet from one.

Shared by training, synthesis, segmentation, evaluation, the reproduction, serving and export.
"""
