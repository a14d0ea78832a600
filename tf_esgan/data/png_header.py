"""What a PNG file's first and last bytes say, without decoding its pixels.

A PNG file is the 8-byte signature, then chunks of (length, type, data, CRC-32): IHDR
first (width, height, bit depth, colour type), then small ancillary chunks (tRNS marks a
transparent colour), the IDAT pixel data, and IEND last (always the same 12 bytes). So
reading the first chunk headers and the last 12 bytes gives a file's size and pixel
format, and whether it was cut off: a copy or download that stopped early loses IEND. Checking a few thousand files this
way takes milliseconds per thousand (benchmarks/validate_dataset.py); decoding them takes
seconds per thousand. Corruption inside a complete file is not seen here (the decoder
still names the file when it reads it).
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND_CHUNK = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # length 0, type, CRC-32 of b"IEND"
# Signature + IHDR chunk: length (4), type (4), 13 data bytes, CRC (4).
_HEAD_BYTES = len(SIGNATURE) + 4 + 4 + 13 + 4

# PNG colour types (PNG spec, IHDR).
GRAY, RGB, PALETTE, GRAY_ALPHA, RGBA = 0, 2, 3, 4, 6


class PngHeaderError(ValueError):
    """The file starts like a PNG but its IHDR chunk is damaged (the message says how)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PngHeader:
    """IHDR fields of a PNG file, and whether the file ends with the IEND chunk.

    Attributes:
      width, height: pixels, both >= 1.
      bit_depth: bits per sample (1, 2, 4, 8 or 16).
      colour_type: GRAY, RGB, PALETTE, GRAY_ALPHA or RGBA.
      transparency: a tRNS chunk precedes the pixel data (decoders then add an alpha channel).
      ends_with_iend: False for a cut-off file (or one with bytes after its IEND chunk).
      file_size: bytes.
    """

    width: int
    height: int
    bit_depth: int
    colour_type: int
    transparency: bool
    ends_with_iend: bool
    file_size: int


def read_png_header(path: str | os.PathLike) -> PngHeader | None:
    """The `PngHeader` of `path`, or None when the file does not start with the PNG signature.

    Raises:
      PngHeaderError: PNG signature but no valid IHDR chunk (wrong type, length or CRC,
        zero width or height), or no IDAT chunk after the ancillary ones.
      OSError: the file cannot be read.
    """
    with open(path, "rb") as stream:
        head = stream.read(_HEAD_BYTES)
        if not head.startswith(SIGNATURE):
            return None
        file_size = os.fstat(stream.fileno()).st_size
        if len(head) < _HEAD_BYTES:
            raise PngHeaderError(f"only {file_size} bytes, shorter than a PNG header")
        width, height, bit_depth, colour_type = _parse_ihdr(head)
        transparency = _transparency_before_idat(stream, file_size)
        if file_size >= _HEAD_BYTES + len(IEND_CHUNK):
            stream.seek(-len(IEND_CHUNK), os.SEEK_END)
            ends_with_iend = stream.read(len(IEND_CHUNK)) == IEND_CHUNK
        else:
            ends_with_iend = False
    return PngHeader(width=width, height=height, bit_depth=bit_depth, colour_type=colour_type,
                     transparency=transparency, ends_with_iend=ends_with_iend, file_size=file_size)


def _parse_ihdr(head: bytes) -> tuple[int, int, int, int]:
    length, chunk_type = struct.unpack(">I4s", head[8:16])
    data, crc = head[16:29], struct.unpack(">I", head[29:33])[0]
    if chunk_type != b"IHDR" or length != 13:
        raise PngHeaderError(f"first chunk is {chunk_type!r} of {length} bytes, expected IHDR of 13")
    if zlib.crc32(b"IHDR" + data) != crc:
        raise PngHeaderError("IHDR chunk fails its CRC check")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", data[:10])
    if not width or not height:
        raise PngHeaderError(f"IHDR says {width}x{height} pixels")
    return width, height, bit_depth, colour_type


def _transparency_before_idat(stream, file_size: int) -> bool:
    """Walks the chunk headers after IHDR (a handful, in the first kilobytes) up to IDAT."""
    offset, transparency = _HEAD_BYTES, False
    while True:
        stream.seek(offset)
        chunk_head = stream.read(8)
        if len(chunk_head) < 8:
            # Cut off before the pixel data: reported as a file without IEND.
            return transparency
        length, chunk_type = struct.unpack(">I4s", chunk_head)
        if chunk_type == b"IDAT":
            return transparency
        if chunk_type == b"IEND":
            raise PngHeaderError("no pixel data (IEND before any IDAT chunk)")
        transparency |= chunk_type == b"tRNS"
        offset += 12 + length
        if offset > file_size:
            return transparency  # a chunk runs past the end: cut off, reported as such


def contains_iend(path: str | os.PathLike) -> bool:
    """Whether the IEND chunk is anywhere in the file (reads all of it; for the rare file
    whose last bytes are not IEND: bytes appended after a complete PNG, or a cut-off file)."""
    with open(path, "rb") as stream:
        return IEND_CHUNK in stream.read()
