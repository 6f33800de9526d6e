"""Measuring a job for the simulator: step times per placement and local batch, and gradient
statistics per epoch at several total batch sizes (the format of docs/profile-format.md).

Each measurement runs the job's real training step in K gloo processes through
:class:`AdaptiveTrainer` with the batch configuration held fixed, so the numbers are those the
adaptive job itself would see: ``step_time``/``sync_time`` from its step profiler, and
``grad_sqr``/``grad_var`` from its noise-scale estimator (smoothed, as the job uses them).
Epochs are statistical epochs (progress of one data pass at M0), as in the Pollux profiles.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp
from torch import nn
from torch.utils.data import TensorDataset

from adaptsched.models import BatchLimits
from adaptsched.train.batching import BatchConfig
from adaptsched.train.datasets import head
from adaptsched.train.distributed import init_distributed, leave_distributed
from adaptsched.train.evaluation import accuracy
from adaptsched.train.profile_mode import config_for_batch
from adaptsched.train.trainer import AdaptiveTrainer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileJob:
    """A job the profiler knows how to build (registered by name)."""

    name: str
    epochs: int  # full-data epochs of the real job
    init_batch: int
    max_batch: int
    min_local: int
    max_local: int
    build: Callable[[], tuple[nn.Module, torch.optim.Optimizer, Any]]  # model, optimizer, sched
    datasets: Callable[[str | None], tuple[TensorDataset, TensorDataset]]  # train, test
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def limits(self) -> BatchLimits:
        return BatchLimits(self.init_batch, self.max_batch, self.min_local, self.max_local)


def _mnist_build() -> tuple[nn.Module, torch.optim.Optimizer, Any]:
    from adaptsched.train.datasets.mnist import MnistNet

    torch.manual_seed(1)
    model = MnistNet()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.7)


def _mnist_datasets(data_dir: str | None) -> tuple[TensorDataset, TensorDataset]:
    from adaptsched.train.datasets.mnist import mnist_dataset

    return mnist_dataset("train", data_dir), mnist_dataset("test", data_dir)


PROFILE_JOBS: dict[str, ProfileJob] = {
    "mnist": ProfileJob(
        "mnist", 10, 64, 1024, 32, 128, _mnist_build, _mnist_datasets, nn.functional.nll_loss
    ),
}


def get_profile_job(name: str) -> ProfileJob:
    try:
        return PROFILE_JOBS[name]
    except KeyError:
        valid = ", ".join(sorted(PROFILE_JOBS))
        raise ValueError(f"unknown job {name!r}; jobs that can be profiled: {valid}") from None


@dataclass(frozen=True)
class RunOptions:
    """What the spawned workers need (picklable)."""

    job: str
    data_dir: str | None
    train_samples: int  # first N training samples (0: all)
    test_samples: int
    threads: int  # torch threads per process


def _trainer(job: ProfileJob, opts: RunOptions, config: BatchConfig) -> tuple[Any, ...]:
    model, optimizer, scheduler = job.build()
    train, test = job.datasets(opts.data_dir)
    trainer = AdaptiveTrainer(
        model,
        optimizer,
        head(train, opts.train_samples),
        limits=job.limits(),
        lr_scheduler=scheduler,
        fixed_config=config,
        refit_interval_s=math.inf,
    )
    return trainer, scheduler, head(test, opts.test_samples)


def _enter(rank: int, world: int, port: int, opts: RunOptions) -> None:
    env = {"RANK": rank, "WORLD_SIZE": world, "LOCAL_WORLD_SIZE": world, "LOCAL_RANK": rank}
    os.environ.update({k: str(v) for k, v in env.items()})
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(opts.threads)
    init_distributed("gloo")


def _placement_worker(
    rank: int, world: int, port: int, opts: RunOptions, sizes: list[int], steps: int, out: str
) -> None:
    _enter(rank, world, port, opts)
    rows = _timed_rows(opts, sizes, steps)
    if rank == 0:
        Path(out).write_text(json.dumps(rows))
    leave_distributed()


def _side_by_side_worker(
    rank: int, world: int, port: int, opts: RunOptions, sizes: list[int], steps: int, out: str
) -> None:
    """One of ``world`` copies of the job, each its own world of one (no synchronisation),
    all on this machine's cores at once: as separate jobs on an emulated cluster share them."""
    for name in ("RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        os.environ.pop(name, None)
    torch.set_num_threads(opts.threads)
    init_distributed("gloo")
    rows = _timed_rows(opts, sizes, steps)
    if rank == 0:
        Path(out).write_text(json.dumps(rows))
    leave_distributed()


def _timed_rows(opts: RunOptions, sizes: list[int], steps: int) -> list[dict[str, float]]:
    """The trainer's step profile after ``steps`` timed steps at each local batch."""
    job = get_profile_job(opts.job)
    rows = []
    for local_bsz in sizes:
        trainer, _, _ = _trainer(job, opts, BatchConfig(local_bsz, 0))
        batches = _endless(trainer)
        for _ in range(steps + trainer.profiler.warmup_steps + 1):
            x, y = next(batches)
            job.loss(trainer.model(x), y).backward()
            trainer.step()
        rows += [r for r in trainer.profiler.rows() if r["local_bsz"] == local_bsz]
    return rows


def _endless(trainer: AdaptiveTrainer) -> Iterator[Any]:
    """Micro-batches across epoch ends (a placement row may need more steps than an epoch)."""
    while True:
        yield from trainer.batches()
        trainer.sampler.set_epoch(trainer.sampler.epoch + 1)


def _validation_worker(
    rank: int, world: int, port: int, opts: RunOptions, batch: int, epochs: int, out: str
) -> None:
    _enter(rank, world, port, opts)
    job = get_profile_job(opts.job)
    trainer, scheduler, test = _trainer(job, opts, config_for_batch(batch, world, job.max_local))
    rows: list[dict[str, float]] = []
    while len(rows) < epochs:
        for x, y in trainer.batches():
            job.loss(trainer.model(x), y).backward()
            if trainer.step() and trainer.statistical_epochs >= len(rows) + 1:
                scheduler.step()
                rows.append(_validation_row(trainer, test))
                if len(rows) == epochs:
                    break
        if trainer.sampler.remaining == 0:
            trainer.sampler.set_epoch(trainer.sampler.epoch + 1)
    if rank == 0:
        Path(out).write_text(json.dumps(rows))
    leave_distributed()


def _validation_row(trainer: AdaptiveTrainer, test: TensorDataset) -> dict[str, float]:
    topo = trainer.topo
    est = trainer.estimator
    return {
        "progress": trainer.progress,
        "iteration": trainer.steps,
        "metric": accuracy(trainer.model.module, test, topo.rank, topo.world_size),
        "grad_sqr": est.sqr(),
        "grad_var": est.trace() / trainer.limits.init_batch,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Runs of one measurement before a worker killed by a signal fails it.
SPAWN_ATTEMPTS = 2


def spawn_json(worker: Callable[..., None], replicas: int, *args: Any) -> Any:
    """Run ``worker(rank, replicas, port, *args, out)`` in ``replicas`` processes; rank 0's
    JSON output is the result. A worker killed by a signal (once in a few hundred runs here, a
    gloo worker aborted with "terminate called without an active exception") repeats the
    measurement once, on a fresh port; an exception in a worker fails at once."""
    for attempt in range(1, SPAWN_ATTEMPTS + 1):
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "result.json")
            try:
                mp.spawn(
                    worker, args=(replicas, _free_port(), *args, out), nprocs=replicas, join=True
                )
            except mp.ProcessExitedException as exc:
                if exc.signal_name is None or attempt == SPAWN_ATTEMPTS:
                    raise
                log.warning("profiling worker %s; measuring again", exc)
                continue
            return json.loads(Path(out).read_text())
    raise AssertionError("unreachable")


def measure_placements(
    opts: RunOptions, replicas: int, sizes: list[int], steps: int
) -> list[dict[str, float]]:
    """Mean step and sync time per local batch with ``replicas`` processes on one node."""
    return spawn_json(_placement_worker, replicas, opts, sizes, steps)


def measure_side_by_side(
    opts: RunOptions, copies: int, sizes: list[int], steps: int
) -> list[dict[str, float]]:
    """Mean step time per local batch of one replica while ``copies`` unsynchronised
    one-replica copies of the job train on this machine at once."""
    return spawn_json(_side_by_side_worker, copies, opts, sizes, steps)


def measure_validation(
    opts: RunOptions, replicas: int, batch: int, epochs: int
) -> list[dict[str, float]]:
    """One row per statistical epoch of training at total batch ``batch``."""
    return spawn_json(_validation_worker, replicas, opts, batch, epochs)


def _finish_worker(rank: int, world: int, port: int, opts: RunOptions, out: str) -> None:
    """Time what the job does after its last step: evaluating the model on its test set."""
    import time

    _enter(rank, world, port, opts)
    job = get_profile_job(opts.job)
    model, _, _ = job.build()
    _, test = job.datasets(opts.data_dir)
    test = head(test, opts.test_samples)
    start = time.perf_counter()
    accuracy(model, test, rank, world)
    seconds = time.perf_counter() - start
    if rank == 0:
        Path(out).write_text(json.dumps(seconds))
    leave_distributed()


def measure_finish(opts: RunOptions) -> float:
    """Seconds of the job's work after training at one replica (its final evaluation), the
    simulator's ``finish_s``."""
    return float(spawn_json(_finish_worker, 1, opts))
