"""The data-parallel wrapper: DDP with the gradient-norm hook, skipping the all-reduce on
accumulation micro-steps."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from adaptsched.train.comm import GradNormState, grad_norm_hook
from adaptsched.train.distributed import Topology


class AdaptiveDataParallel(nn.Module):
    """DDP whose forward runs under ``no_sync`` while ``accumulating`` is set.

    DDP decides in forward whether the following backward all-reduces, so the flag must be set
    before the forward of each micro-batch (the trainer's batch iterator does that).
    """

    def __init__(self, module: nn.Module, topo: Topology, bucket_cap_mb: float = 25.0) -> None:
        super().__init__()
        device_ids = [topo.local_rank] if topo.backend == "nccl" else None
        self.ddp = DistributedDataParallel(
            module.to(topo.device), device_ids=device_ids, bucket_cap_mb=bucket_cap_mb
        )
        self.grad_state = GradNormState(topo.world_size, device=topo.device)
        self.ddp.register_comm_hook(self.grad_state, grad_norm_hook)
        self.accumulating = False

    @property
    def module(self) -> nn.Module:  # type: ignore[override]
        """The user's model (for evaluation and state dicts)."""
        return self.ddp.module

    def record_reduced_norm(self) -> None:
        """After a synchronising backward: hand the reduced gradients to the norm state."""
        state = self.grad_state
        if state.measure and (state.world_size > 1 or state.micro_steps > 1):
            grads = self._grads()
            state.record_reduced(grads)

    def record_micro(self, index: int) -> None:
        """One replica, after the backward of a measured step's micro-batch ``index`` (not the
        last): the micro-batch gradients are the small-batch half of the noise-scale pair."""
        grads = self._grads()
        self.grad_state.record_micro(index, grads)

    def _grads(self) -> list[torch.Tensor]:
        """The gradients the last backward left on the user's model's parameters."""
        return [p.grad for p in self.ddp.module.parameters() if p.grad is not None]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.accumulating and torch.is_grad_enabled():
            with self.ddp.no_sync():
                return self.ddp(*args, **kwargs)
        return self.ddp(*args, **kwargs)
