"""The job of the runtime benchmarks: the thesis's MNIST CNN on synthetic images at a fixed
batch configuration, recording the wall time of every optimizer step (rank 0) to
``--out`` or to ``steps.txt`` in the runtime's job folder. The same file runs under torchrun
and under adaptsched, so the two can be compared step for step.

    python step_timer.py --steps 200 [--local-bsz 64] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from adaptsched import runtime_env
from adaptsched.models import BatchLimits
from adaptsched.train import AdaptiveTrainer, BatchConfig
from adaptsched.train.datasets.mnist import MnistNet


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps to run in all")
    parser.add_argument("--local-bsz", type=int, default=64)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--out", default=None)
    parser.add_argument("--checkpoint-dir", default=None, help="default: the runtime's")
    args = parser.parse_args()
    torch.manual_seed(0)
    data = TensorDataset(
        torch.randn(args.samples, 1, 28, 28), torch.randint(0, 10, (args.samples,))
    )
    model = MnistNet()
    trainer = AdaptiveTrainer(
        model,
        torch.optim.Adadelta(model.parameters(), lr=1.0),
        data,
        limits=BatchLimits(args.local_bsz, args.local_bsz * 64, 1, args.local_bsz),
        fixed_config=BatchConfig(args.local_bsz, 0),
        checkpoint_dir=args.checkpoint_dir,
    )
    job_dir = os.environ.get(runtime_env.JOB_DIR)
    out = Path(args.out) if args.out else Path(job_dir or ".") / "steps.txt"
    stamps: list[float] = []
    epochs = args.steps * args.local_bsz * trainer.topo.world_size / args.samples
    for _ in trainer.epochs(epochs):
        for x, y in trainer.batches():
            nn.functional.nll_loss(trainer.model(x), y).backward()
            if trainer.step():
                stamps.append(time.perf_counter())
    if trainer.topo.rank == 0:
        out.write_text("".join(f"{t:.6f}\n" for t in stamps))


if __name__ == "__main__":
    main()
