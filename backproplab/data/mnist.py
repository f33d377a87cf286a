"""MNIST (and any IDX file) read from disk, raw or gzip-compressed.

IDX layout (LeCun et al.): 2 zero bytes, a type code (0x08 = unsigned byte, ...),
the number of dimensions k, then k big-endian uint32 sizes, then the data,
big-endian, row-major. MNIST's images are 3-D (N, 28, 28) unsigned bytes, its
labels 1-D (N,). Every check below names the file and what was expected.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

__all__ = ["read_idx", "load_mnist_idx", "IDX_TYPES"]

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path) -> bytes:
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(f"{path}: the gzip data are truncated or corrupted ({err})") from None
    return raw


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (native byte order, dtype from the type code)."""
    raw = _read_bytes(path)
    name = os.fspath(path)
    if len(raw) < 4:
        raise ValueError(f"{name}: not an IDX file: only {len(raw)} bytes, shorter than the 4-byte header")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in IDX_TYPES:
        raise ValueError(
            f"{name}: not an IDX file: magic number 0x{raw[:4].hex()} (expected 0x0000 followed by a "
            f"type code in {', '.join(f'0x{c:02x}' for c in IDX_TYPES)} and the number of dimensions)"
        )
    if ndim == 0:
        raise ValueError(f"{name}: IDX header says 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, the file has {len(raw)}")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise ValueError(
            f"{name}: truncated: shape {shape} of {dtype.name} needs {expected} bytes of data, "
            f"found {found}"
        )
    if found > expected:
        raise ValueError(
            f"{name}: {found - expected} unexpected bytes after the data of shape {shape} "
            f"({expected} bytes); the header does not describe this file"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable, native-order copy


def load_mnist_idx(images_path, labels_path):
    """MNIST-style images (N, rows, cols) uint8 and labels (N,) int64 from IDX files.

    Raises ValueError if a file is not IDX, is truncated, has the wrong number of
    dimensions, or if images and labels disagree on N. Scale the images yourself
    (e.g. ``X = images.reshape(N, -1) / 255.0``).
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(f"{os.fspath(images_path)}: images must be 3-D (N, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{os.fspath(labels_path)}: labels must be 1-D (N,), got shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images.shape[0]} images in {os.fspath(images_path)} but {labels.shape[0]} labels in "
            f"{os.fspath(labels_path)}"
        )
    return images, labels.astype(np.int64)
