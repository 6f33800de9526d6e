"""MNIST pieces: the IDX reader (plain and gzip, with clear errors) and the thesis's CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_data import write_idx

from adaptsched.train.datasets.mnist import MEAN, STD, MnistNet, mnist_dataset, read_idx


@pytest.mark.parametrize("compress", [False, True])
def test_idx_directory_loads(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    for prefix, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, size=(n, 28, 28))
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n) % 10, compress)
    train = mnist_dataset("train", tmp_path)
    test = mnist_dataset("test", tmp_path)
    assert len(train) == 12 and len(test) == 5
    x, y = train[3]
    assert x.shape == (1, 28, 28) and int(y) == 3
    raw = read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", 3)
    assert torch.allclose(x[0], (torch.from_numpy(raw[3].astype(np.float32)) / 255 - MEAN) / STD)


def test_bad_idx_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "train-images-idx3-ubyte"
    write_idx(bad, np.zeros((2, 28, 28)), compress=False)
    bad.write_bytes(bad.read_bytes()[:-7])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: .* header says 1568"):
        read_idx(bad, 3)
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad, 1)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        mnist_dataset("test", tmp_path)


def test_thesis_cnn_shape() -> None:
    model = MnistNet()
    assert sum(p.numel() for p in model.parameters()) == 1_199_882
    assert model.fc1.in_features == 9216 and model.fc2.out_features == 10
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
