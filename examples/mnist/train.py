"""The thesis's MNIST job on the adaptive trainer.

Standalone:      python examples/mnist/train.py --epochs 10
Data parallel:   torchrun --nproc-per-node 2 examples/mnist/train.py --epochs 10
Restartable: give --checkpoint-dir; after a kill or SIGTERM (exit 75) the same command, with
any number of processes, continues from the last checkpoint.

``--epochs`` counts statistical epochs (AdaScale's scale-invariant iterations): at larger
batches a pass over the data may be worth less than an epoch at batch 64, and the job then
takes a little more than ``--epochs`` passes.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch
from torch import nn
from torch.optim.lr_scheduler import StepLR

from adaptsched.models import BatchLimits, get_metric
from adaptsched.train import AdaptiveTrainer, JsonFileSink
from adaptsched.train.datasets.mnist import MnistNet, mnist_dataset
from adaptsched.train.evaluation import accuracy

log = logging.getLogger("mnist")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=float, default=10)
    parser.add_argument("--batch-size", type=int, default=64, help="initial batch size M0")
    parser.add_argument("--max-batch-size", type=int, default=1024)
    parser.add_argument("--local-bsz-bounds", type=int, nargs=2, default=(32, 128))
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--data", default=None, help="directory of MNIST IDX files (.gz ok)")
    parser.add_argument(
        "--metrics-options",
        default="default",
        choices=["default", "speed", "cost", "balanced"],
        help="the job's performance metric (adaptsched.models.get_metric)",
    )
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--hints", default=None, help="JSON file the job publishes hints to")
    parser.add_argument("--summary", default=None, help="write per-epoch results here (JSON)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def evaluate(trainer: AdaptiveTrainer, test_set: torch.utils.data.TensorDataset) -> float:
    """Test accuracy, the test set split over the replicas."""
    return accuracy(trainer.model.module, test_set, trainer.topo.rank, trainer.topo.world_size)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    metric = get_metric(args.metrics_options)  # a clear error for unregistered metrics
    torch.manual_seed(args.seed)
    train_set = mnist_dataset("train", args.data)
    test_set = mnist_dataset("test", args.data)
    model = MnistNet()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    low, high = args.local_bsz_bounds
    trainer = AdaptiveTrainer(
        model,
        optimizer,
        train_set,
        limits=BatchLimits(args.batch_size, args.max_batch_size, low, high),
        metric=metric,
        lr_scheduler=scheduler,
        checkpoint_dir=args.checkpoint_dir,
        hint_sink=JsonFileSink(args.hints) if args.hints else None,
        seed=args.seed,
    )
    history: list[dict[str, float]] = []
    start_s = time.monotonic()
    for epoch in trainer.epochs(args.epochs):
        epoch_start_s = time.monotonic()
        for x, y in trainer.batches():
            nn.functional.nll_loss(trainer.model(x), y).backward()
            trainer.step()
        scheduler.step()
        accuracy = evaluate(trainer, test_set)
        cfg = trainer.config
        record = {
            "epoch": epoch,
            "statistical_epochs": round(trainer.statistical_epochs, 3),
            "test_accuracy": accuracy,
            "epoch_s": round(time.monotonic() - epoch_start_s, 2),
            "elapsed_s": round(time.monotonic() - start_s, 2),
            "replicas": trainer.topo.world_size,
            "local_bsz": cfg.local_bsz if cfg else 0,
            "accum_steps": cfg.accum_steps if cfg else 0,
            "noise_scale": round(trainer.estimator.noise_scale(), 1),
        }
        history.append(record)
        log.info("epoch %s", json.dumps(record))
    if args.summary and trainer.topo.rank == 0:
        Path(args.summary).write_text(json.dumps({"args": vars(args), "epochs": history}, indent=1))


if __name__ == "__main__":
    main()
