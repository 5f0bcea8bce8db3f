"""The IDX file format of MNIST and Fashion-MNIST (gzipped or not).

Layout: a 4-byte magic number (0, 0, type code, number of dimensions), then each dimension
as a big-endian uint32, then the data. Fashion-MNIST uses type 0x08 (unsigned byte) with
3 dimensions for images (N, 28, 28) and 1 dimension for labels (N,).
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class DataFileError(ValueError):
    """A data file is missing, truncated or corrupt; the message names the file."""


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzipped (by content, not by name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataFileError(f"{path}: cannot read ({error.strerror or error})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataFileError(f"{path}: corrupt gzip data ({error})") from None
    return raw


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array; raises DataFileError naming ``name`` on any inconsistency."""
    if len(data) < 4:
        raise DataFileError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DataFileError(f"{name}: not an IDX file (magic bytes {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(f"{name}: truncated header ({len(data)} bytes, need {header})")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_TYPES[data[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: 2^31 x 2^31 x 4 must not wrap around to 0 as np.prod would
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise DataFileError(f"{name}: {what}: header says {shape} ({expected} bytes of data), file has {actual}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain)."""
    return parse_idx(read_bytes(Path(path)), str(path))


def write_idx(path: str | Path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array as IDX (used to make test files and to cache downloads)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.tobytes()
    Path(path).write_bytes(gzip.compress(data) if compress else data)
