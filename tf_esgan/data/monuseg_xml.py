"""MoNuSeg polygon annotations (XML) -> instance label map.

The MoNuSeg 2018 XML files hold one `<Region>` per nucleus with its outline as
`<Vertex X="col" Y="row"/>` points (sub-pixel floats). Regions are filled with
`skimage.draw.polygon` in file order, a later region overwriting an earlier one where
they overlap; regions with fewer than 3 vertices, or whose pixels are all outside the
image or overwritten, are dropped; the rest are renumbered 1..N in file order.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
from skimage.draw import polygon as fill_polygon

from tf_esgan.data.image_io import DatasetError
from tf_esgan.data.labels import relabel_consecutive

_MIN_VERTICES = 3


def read_monuseg_polygons(path: str | os.PathLike) -> list[np.ndarray]:
    """Reads every region's outline, in file order.

    Returns:
      one float64 [V, 2] array of (row, col) = (Y, X) per `<Region>`, V may be < 3;
      empty if `<Regions>` is empty (an image without nuclei).
    """
    path = Path(path)
    try:
        tree = ElementTree.parse(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except ElementTree.ParseError as error:
        raise DatasetError(f"{path}: not valid XML ({error})") from None
    if tree.getroot().find(".//Regions") is None:
        raise DatasetError(f"{path}: no <Regions> element (expected MoNuSeg annotations)")
    polygons = []
    for index, region in enumerate(tree.getroot().iter("Region")):
        points = []
        for vertex in region.iter("Vertex"):
            try:
                points.append((float(vertex.attrib["Y"]), float(vertex.attrib["X"])))
            except (KeyError, ValueError):
                raise DatasetError(f"{path}: region {index} (Id={region.get('Id')}) has a "
                                   f"Vertex without numeric X and Y: {vertex.attrib}") from None
        polygons.append(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    return polygons


def polygons_to_labels(polygons: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Fills polygons in order (later overwrite earlier) and renumbers them 1..N.

    Args:
      polygons: float [V, 2] (row, col) outlines.
      shape: (H, W) of the image.
    Returns:
      int32 [H, W], 0 = background, 1..N = the non-empty regions in input order.
    """
    labels = np.zeros(shape, dtype=np.int32)
    for index, outline in enumerate(polygons, start=1):
        if len(outline) < _MIN_VERTICES:
            continue
        rows, cols = fill_polygon(outline[:, 0], outline[:, 1], shape=shape)
        labels[rows, cols] = index
    return relabel_consecutive(labels)


def read_monuseg_xml(path: str | os.PathLike, shape: tuple[int, int]) -> np.ndarray:
    """Instance label map int32 [H, W] of one MoNuSeg XML file (see module docstring)."""
    return polygons_to_labels(read_monuseg_polygons(path), shape)
