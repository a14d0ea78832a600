"""Table 1 of the paper: how close a generator's images are to real ones.

`table1_job.py` is the `esgan-evaluate` job (re-synthesize held-out images from their masks,
score them); `image_quality_table.py` computes the table. The scores are the pure functions
of `tf_esgan.metrics`; scoring a SegNet (Table 2) is `tf_esgan.segmentation.scoring`.
"""
