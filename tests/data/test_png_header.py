"""The header-only file check agrees with a full decode: same sizes, same refusals."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from tf_esgan.data import image_io
from tf_esgan.data.image_io import DatasetError, check_image, check_mask, read_image, read_mask
from tf_esgan.data.png_header import RGB, PngHeaderError, read_png_header


def _png(path, array):
    assert cv2.imwrite(str(path), array)
    return path


def _with_chunk_before_idat(path, chunk_type: bytes, data: bytes):
    """The PNG at `path` with one more chunk right after IHDR (as encoders place tRNS)."""
    content = path.read_bytes()
    chunk = struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))
    path.write_bytes(content[:33] + chunk + content[33:])
    return path


@pytest.fixture
def decodes(monkeypatch):
    """Counts the full decodes the checks fall back to."""
    calls = []
    real = image_io.decode_file
    monkeypatch.setattr(image_io, "decode_file", lambda path: calls.append(path) or real(path))
    return calls


def test_header_fields_and_truncation(tmp_path, rng):
    path = _png(tmp_path / "a.png", rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
    header = read_png_header(path)
    assert (header.width, header.height, header.bit_depth, header.colour_type) == (30, 20, 8, RGB)
    assert header.ends_with_iend and not header.transparency
    path.write_bytes(path.read_bytes()[:-20])
    assert not read_png_header(path).ends_with_iend
    assert read_png_header(_png(tmp_path / "b.jpg", np.zeros((4, 4, 3), np.uint8))) is None
    damaged = bytearray(_png(tmp_path / "c.png", np.zeros((4, 4, 3), np.uint8)).read_bytes())
    damaged[20] ^= 1  # a bit of the width: the IHDR CRC no longer matches
    (tmp_path / "c.png").write_bytes(bytes(damaged))
    with pytest.raises(PngHeaderError, match="CRC"):
        read_png_header(tmp_path / "c.png")


@pytest.mark.parametrize("make, decoded", [
    (lambda rng: rng.integers(0, 256, (12, 17, 3), dtype=np.uint8), False),  # canonical: header only
    (lambda rng: rng.integers(0, 65536, (12, 17, 3), dtype=np.uint16), False),
    (lambda rng: np.dstack([rng.integers(0, 256, (12, 17, 3)), np.full((12, 17), 255)]).astype(np.uint8), True),
])
def test_check_image_matches_read_image(tmp_path, rng, decodes, make, decoded):
    path = _png(tmp_path / "x.png", make(rng))
    assert check_image(path) == (12, 17) == read_image(path).shape[:2]
    assert bool(decodes[:-1]) == decoded  # the last decode is read_image's own


def test_check_mask_matches_read_mask(tmp_path, rng, decodes):
    for dtype in (np.uint8, np.uint16):
        path = _png(tmp_path / f"m{dtype.__name__}.png", rng.integers(0, 50, (9, 7)).astype(dtype))
        assert check_mask(path) == (9, 7) == read_mask(path).shape
    assert len(decodes) == 2  # only read_mask's
    gray_as_rgb = _png(tmp_path / "rgb.png", np.repeat(rng.integers(0, 9, (9, 7, 1)).astype(np.uint8), 3, axis=2))
    assert check_mask(gray_as_rgb) == (9, 7)  # decoded: equal channels are accepted
    colour = _png(tmp_path / "colour.png", rng.integers(0, 9, (9, 7, 3)).astype(np.uint8))
    with pytest.raises(DatasetError, match="colour.png: expected a single-channel label map"):
        check_mask(colour)


def test_check_refuses_what_read_refuses_naming_the_file(tmp_path, rng):
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    cut = _png(tmp_path / "cut.png", rgb)
    cut.write_bytes(cut.read_bytes()[:-30])
    with pytest.raises(DatasetError, match=r"cut\.png: truncated PNG \(\d+ bytes, no IEND chunk"):
        check_image(cut)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"empty\.png: not a readable image \(empty file, 0 bytes\)"):
        check_mask(tmp_path / "empty.png")
    gray = _png(tmp_path / "gray.png", rgb[..., 0])
    with pytest.raises(DatasetError, match=r"gray\.png: expected an RGB image, got 1 channel"):
        check_image(gray)
    with pytest.raises(DatasetError, match="missing.png: file not found"):
        check_image(tmp_path / "missing.png")
    transparent = np.dstack([rgb, np.full((16, 16), 255, np.uint8)])
    transparent[0, 0, 3] = 0
    with pytest.raises(DatasetError, match="alpha channel is not fully opaque"):
        check_image(_png(tmp_path / "alpha.png", transparent))


def test_unusual_but_valid_files_are_decoded_not_refused(tmp_path, rng, decodes):
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    trailing = _png(tmp_path / "trailing.png", rgb)
    trailing.write_bytes(trailing.read_bytes() + b"appended by some tool")
    assert check_image(trailing) == (8, 8) and decodes  # libpng ignores bytes after IEND
    # A tRNS chunk makes decoders add an alpha channel: only decoding tells if it is opaque.
    marked = _with_chunk_before_idat(_png(tmp_path / "trns.png", rgb), b"tRNS", b"\x00\x01\x00\x02\x00\x03")
    assert read_png_header(marked).transparency
    decodes.clear()
    assert check_image(marked) == (8, 8) and decodes
