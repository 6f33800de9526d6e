"""Overhead of the adaptive trainer over plain DDP, side by side in one run.

Two gloo processes train the thesis's MNIST CNN (Adadelta, batch 64 = 2 x 32) on real MNIST.
Each process holds two identical copies of the model: one under plain DDP (gather a batch,
forward, backward, optimizer step, zero_grad) and one under ``AdaptiveTrainer`` (the same plus
the gradient-norm hook, the exchange of norms and stop flags about every 0.2 s, LR scaling,
progress, step-time profiling and periodic model refits; batch size held fixed so both do the
same arithmetic). Short rounds alternate between the two in ABBA / BAAB blocks, so machine load
drifts hit both alike: the overhead is the median over blocks of the block's adaptive / plain
time ratio, and each step time the median over rounds of the mean step time in a round.

    .venv/bin/python benchmarks/train_overhead.py --json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from adaptsched.models import BatchLimits
from adaptsched.train import AdaptiveTrainer, BatchConfig, init_distributed
from adaptsched.train.datasets.mnist import MnistNet, mnist_dataset

LOCAL_BSZ = 32


def plain_steps(data: torch.utils.data.TensorDataset, rank: int, world: int) -> Iterator[None]:
    """Plain DDP: the same data path as the trainer's (one index gather per batch)."""
    model = DistributedDataParallel(_model())
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    x_all, y_all = data.tensors
    perm = torch.randperm(len(x_all), generator=torch.Generator().manual_seed(0))
    for start in itertools.count(0, world * LOCAL_BSZ):
        pos = start % (len(perm) - world * LOCAL_BSZ)
        index = perm[pos + rank * LOCAL_BSZ : pos + (rank + 1) * LOCAL_BSZ]
        nn.functional.nll_loss(model(x_all[index]), y_all[index]).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        yield


def adaptive_steps(data: torch.utils.data.TensorDataset) -> Iterator[None]:
    model = _model()
    trainer = AdaptiveTrainer(
        model,
        torch.optim.Adadelta(model.parameters(), lr=1.0),
        data,
        limits=BatchLimits(64, 1024, 32, 128),
        fixed_config=BatchConfig(LOCAL_BSZ, 0),
    )
    while True:
        for x, y in trainer.batches():
            nn.functional.nll_loss(trainer.model(x), y).backward()
            trainer.step()
            yield
        trainer.sampler.set_epoch(trainer.sampler.epoch + 1)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return MnistNet()


def _timed(steps: Iterator[None], count: int) -> float:
    dist.barrier()
    start = time.perf_counter()
    for _ in range(count):
        next(steps)
    return (time.perf_counter() - start) / count


def worker(rank: int, world: int, port: int, args: argparse.Namespace, out: str) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(args.threads)
    topo = init_distributed("gloo")
    data = mnist_dataset("train")
    variants: dict[str, Iterator[None]] = {
        "plain": plain_steps(data, topo.rank, topo.world_size),
        "adaptive": adaptive_steps(data),
    }
    for steps in variants.values():
        _timed(steps, args.warmup_steps)
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = ["plain", "adaptive", "adaptive", "plain", "adaptive", "plain", "plain", "adaptive"]
    for round_index in range(args.rounds):
        name = order[round_index % len(order)]
        times[name].append(_timed(variants[name], args.steps))
    if rank == 0:
        Path(out).write_text(json.dumps(times))
    dist.destroy_process_group()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: argparse.Namespace, spawn: Callable[..., object] = mp.spawn) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "times.json")
        spawn(worker, args=(args.procs, _free_port(), args, out), nprocs=args.procs, join=True)
        times = json.loads(Path(out).read_text())
    plain = statistics.median(times["plain"])
    adaptive = statistics.median(times["adaptive"])
    q1, median, q3 = statistics.quantiles(block_ratios(times["plain"], times["adaptive"]), n=4)
    return {
        "plain_step_ms": round(plain * 1e3, 2),
        "adaptive_step_ms": round(adaptive * 1e3, 2),
        "overhead_pct": round((median - 1.0) * 100.0, 2),
        "overhead_block_iqr_pct": [round((q1 - 1.0) * 100.0, 2), round((q3 - 1.0) * 100.0, 2)],
        "rounds_per_variant": len(times["plain"]),
        "steps_per_round": args.steps,
        "procs": args.procs,
        "threads_per_proc": args.threads,
        "global_batch": args.procs * LOCAL_BSZ,
        "torch": torch.__version__,
    }


def block_ratios(plain: list[float], adaptive: list[float]) -> list[float]:
    """Adaptive / plain time per block. Rounds come in blocks of four, P A A P then A P P A
    (each variant in each position equally often), so block i holds entries 2i and 2i + 1 of
    each list."""
    blocks = min(len(plain), len(adaptive)) // 2
    if blocks < 2:
        raise ValueError("rounds: need at least two whole blocks (8 rounds)")
    return [
        (adaptive[2 * i] + adaptive[2 * i + 1]) / (plain[2 * i] + plain[2 * i + 1])
        for i in range(blocks)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--rounds", type=int, default=320, help="a multiple of 8 (ABBA then BAAB)")
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--warmup-steps", type=int, default=10)
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
