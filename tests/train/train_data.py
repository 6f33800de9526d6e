"""Small MNIST-shaped IDX files that tests make themselves."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    magic = 0x00000800 | array.ndim
    data = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def write_mnist_like(directory: Path, train: int, test: int, compress: bool = False) -> None:
    """Random 28x28 images whose label is a brightness band (learnable, so accuracy moves)."""
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    for prefix, n in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, size=n)
        images = rng.integers(0, 40, size=(n, 28, 28)) + labels[:, None, None] * 20
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
