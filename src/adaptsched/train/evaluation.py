"""Held-out evaluation shared by the example job and the profiler."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import TensorDataset


def accuracy(model: nn.Module, test: TensorDataset, rank: int, world: int) -> float:
    """Classification accuracy, the test set split over the replicas (on the model's device:
    NCCL reduces only device tensors)."""
    model.eval()
    device = next(model.parameters()).device
    x, y = (t[rank::world] for t in test.tensors)
    counts = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for start in range(0, len(x), 1000):
            pred = model(x[start : start + 1000].to(device)).argmax(dim=1)
            counts[0] += (pred == y[start : start + 1000].to(device)).sum()
    counts[1] = len(x)
    if world > 1:
        dist.all_reduce(counts)
    model.train()
    return float(counts[0] / counts[1])
