"""Reusable pieces of example jobs: models and data sets (no torchvision)."""

from torch.utils.data import TensorDataset


def head(data: TensorDataset, count: int) -> TensorDataset:
    """The first ``count`` samples (all of them when ``count`` is 0 or too large)."""
    if count <= 0 or count >= len(data):
        return data
    return TensorDataset(*(t[:count] for t in data.tensors))
