"""The thesis's MNIST job on the adaptive trainer.

Standalone:      python thesis_mnist.py --epochs 10
Data parallel:   torchrun --nproc-per-node 2 thesis_mnist.py --epochs 10
Under adaptsched: adaptsched submit thesis_mnist.py --metric speed -- --epochs 10
Restartable: give --checkpoint-dir (the runtime gives one); after a kill or SIGTERM (exit 75) the
same command, with any number of processes, continues from the last checkpoint.

``--epochs`` counts statistical epochs (AdaScale's scale-invariant iterations): at larger
batches a pass over the data may be worth less than an epoch at batch 64, and the job then
takes a little more than ``--epochs`` passes. ``--train-samples`` trains on the first N
samples only (a scaled-down job for the demo); accuracy is always measured on the full test set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.optim.lr_scheduler import StepLR

from adaptsched import runtime_env
from adaptsched.models import BatchLimits
from adaptsched.train import AdaptiveTrainer, JsonFileSink
from adaptsched.train.datasets import head
from adaptsched.train.datasets.mnist import MnistNet, mnist_dataset
from adaptsched.train.evaluation import accuracy

log = logging.getLogger("mnist")

#: The thesis's option names for the metric, next to adaptsched's own.
METRIC_ALIASES = {"default": "goodput"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=float, default=10)
    parser.add_argument("--batch-size", type=int, default=64, help="initial batch size M0")
    parser.add_argument("--max-batch-size", type=int, default=1024)
    parser.add_argument("--local-bsz-bounds", type=int, nargs=2, default=(32, 128))
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--data", default=None, help="directory of MNIST IDX files (.gz ok)")
    parser.add_argument("--train-samples", type=int, default=0, help="first N only (0: all)")
    parser.add_argument(
        "--eval",
        choices=["epoch", "final"],
        default="epoch",
        help="measure test accuracy after every epoch, or once at the end",
    )
    parser.add_argument(
        "--metrics-options",
        default=None,
        choices=["default", "goodput", "speed", "cost", "balanced"],
        help="the job's metric (default: the one it was submitted with, else goodput)",
    )
    parser.add_argument("--checkpoint-dir", default=None, help="default: the runtime's")
    parser.add_argument("--hints", default=None, help="JSON file the job publishes hints to")
    parser.add_argument(
        "--summary", default=None, help="per-epoch results (JSON); default: the job's folder"
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def summary_path(given: str | None) -> Path | None:
    """Where the results go: --summary, else ``summary.json`` in the runtime's job folder."""
    if given:
        return Path(given)
    job_dir = os.environ.get(runtime_env.JOB_DIR)
    return Path(job_dir) / "summary.json" if job_dir else None


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    metric = METRIC_ALIASES.get(args.metrics_options or "", args.metrics_options)
    torch.manual_seed(args.seed)
    train_set = head(mnist_dataset("train", args.data), args.train_samples)
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
        record = _epoch_record(trainer, epoch, epoch_start_s, start_s)
        if args.eval == "epoch":
            record["test_accuracy"] = _accuracy(trainer, test_set)
            trainer.report_metric(record["test_accuracy"])  # kept only by `adaptsched profile`
        history.append(record)
        log.info("epoch %s", json.dumps(record))
    final = history[-1]["test_accuracy"] if history and args.eval == "epoch" else None
    if final is None:
        final = _accuracy(trainer, test_set)
        trainer.report_metric(final)
    log.info("final test accuracy %.4f", final)
    path = summary_path(args.summary)
    if path is not None and trainer.topo.rank == 0:
        body = {"args": vars(args), "epochs": history, "test_accuracy": final}
        path.write_text(json.dumps(body, indent=1))


def _accuracy(trainer: AdaptiveTrainer, test_set: torch.utils.data.TensorDataset) -> float:
    """Test accuracy, the test set split over the replicas."""
    return accuracy(trainer.model.module, test_set, trainer.topo.rank, trainer.topo.world_size)


def _epoch_record(
    trainer: AdaptiveTrainer, epoch: int, epoch_start_s: float, start_s: float
) -> dict[str, float]:
    cfg = trainer.config
    return {
        "epoch": epoch,
        "statistical_epochs": round(trainer.statistical_epochs, 3),
        "epoch_s": round(time.monotonic() - epoch_start_s, 2),
        "elapsed_s": round(time.monotonic() - start_s, 2),
        "replicas": trainer.topo.world_size,
        "local_bsz": cfg.local_bsz if cfg else 0,
        "accum_steps": cfg.accum_steps if cfg else 0,
        "noise_scale": round(trainer.estimator.noise_scale(), 1),
    }


if __name__ == "__main__":
    main()
