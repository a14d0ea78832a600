"""SegNet nuclei segmentation: data (training sets R, R*, S, S*), training, watershed
post-processing, scoring a trained SegNet (`scoring.py`, Table 2) and segmenting any image
(`segment_images.py`).
"""
