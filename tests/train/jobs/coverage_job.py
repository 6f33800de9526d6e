"""A small job that counts, inside its own checkpointed state, how often each sample of epoch 0
contributed to an optimizer step; rank 0 writes the counts when epoch 0 ends."""

from __future__ import annotations

import argparse
import json
import logging
import time

import torch
import torch.distributed as dist
from torch import nn

from adaptsched.models import BatchLimits
from adaptsched.train import AdaptiveTrainer


class SampleCounter:
    """Global per-sample counts (identical on every replica after each step)."""

    def __init__(self, size: int) -> None:
        self.counts = torch.zeros(size, dtype=torch.int64)
        self.delta = torch.zeros(size, dtype=torch.int64)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.counts = state["counts"].clone()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=240)
    parser.add_argument("--step-sleep-s", type=float, default=0.0)
    parser.add_argument("--checkpoint-interval-s", type=float, default=0.3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.manual_seed(0)
    n = args.samples
    data = torch.utils.data.TensorDataset(torch.randn(n, 4), torch.randn(n, 1), torch.arange(n))
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    trainer = AdaptiveTrainer(
        model,
        optimizer,
        data,
        limits=BatchLimits(init_batch=16, max_batch=64, min_local=2, max_local=16),
        checkpoint_dir=args.ckpt,
        checkpoint_interval_s=args.checkpoint_interval_s,
    )
    counter = SampleCounter(n)
    trainer.register_state("counter", counter)
    resumed_at = trainer.sampler.position if trainer.sampler.epoch == 0 else -1
    for epoch in trainer.epochs(2):
        for x, y, idx in trainer.batches():
            nn.functional.mse_loss(trainer.model(x), y).backward()
            shard = trainer.last_shard
            counter.delta[idx[: shard.real]] += 1
            if not trainer.model.accumulating:
                dist.all_reduce(counter.delta)
                counter.counts += counter.delta
                counter.delta.zero_()
            trainer.step()
            time.sleep(args.step_sleep_s)
        if epoch == 0 and trainer.topo.rank == 0:
            result = {
                "counts": counter.counts.tolist(),
                "resumed_at": resumed_at,
                "replicas": trainer.topo.world_size,
            }
            with open(args.out, "w") as f:
                json.dump(result, f)


if __name__ == "__main__":
    main()
