"""A small job for the runtime's tests: a linear model on data it makes itself, trained with
the adaptive trainer exactly as a user's script would be (no adaptsched arguments: the runtime's
environment says where checkpoints and hints go). It records every sample it trains on, by
epoch, generation, rank and time, so a test can check that generations resume without gap or
repeat and never overlap.

    python tiny_job.py --epochs 3 [--samples 512] [--step-sleep 0.02] [--crash-generations 1,2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from adaptsched.models import BatchLimits
from adaptsched.train import AdaptiveTrainer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--step-sleep", type=float, default=0.02)
    parser.add_argument("--crash-generations", default="", help="exit 1 at the first step of these")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.samples, 8)
    y = x @ torch.arange(8.0) + 0.1 * torch.randn(args.samples)
    model = nn.Linear(8, 1)
    trainer = AdaptiveTrainer(
        model,
        torch.optim.SGD(model.parameters(), lr=0.01),
        TensorDataset(x, y),
        limits=BatchLimits(args.batch, args.batch * 8, 8, args.batch * 2),
        checkpoint_interval_s=5.0,
        refit_interval_s=2.0,
    )
    generation = int(os.environ.get("ADAPTSCHED_GENERATION", "0"))
    crash = {int(g) for g in args.crash_generations.split(",") if g}
    rank = trainer.topo.rank
    job_dir = Path(os.environ.get("ADAPTSCHED_JOB_DIR", "."))
    seen = open(job_dir / f"seen-g{generation}-r{rank}.txt", "a")  # noqa: SIM115 - whole run
    print(f"generation {generation} rank {rank} of {trainer.topo.world_size}", flush=True)
    for epoch in trainer.epochs(args.epochs):
        for xb, yb in trainer.batches():
            if generation in crash and rank == 0:
                print("crashing on purpose", flush=True)
                sys.exit(1)
            nn.functional.mse_loss(trainer.model(xb).squeeze(1), yb).backward()
            shard = trainer.last_shard
            now = time.time()
            seen.write("".join(f"{epoch} {i} {now:.3f}\n" for i in shard.indices[: shard.real]))
            seen.flush()
            time.sleep(args.step_sleep)
            trainer.step()
    print(f"done at epoch {trainer.sampler.epoch}", flush=True)


if __name__ == "__main__":
    main()
