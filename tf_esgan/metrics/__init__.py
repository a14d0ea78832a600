"""Metrics as pure functions: image quality (SSIM, FSIM, GMSD) and instance segmentation
(DQ, SQ, PQ, AJI). The jobs that apply them are `tf_esgan.evaluation` (Table 1) and
`tf_esgan.segmentation.scoring` (SegNet scores, Table 2).
"""
