"""The adaptive trainer: one object a data-parallel training script drives.

    trainer = AdaptiveTrainer(model, optimizer, train_set, limits=BatchLimits(64, 1024, 32, 128))
    for epoch in trainer.epochs(10):
        for x, y in trainer.batches():
            F.nll_loss(trainer.model(x), y).backward()
            trainer.step()          # replaces optimizer.step() and zero_grad()
        scheduler.step()

It picks the batch configuration for the replicas it runs on, scales the learning rate, counts
progress in scale-invariant iterations (AdaScale: each step at gain r is worth r steps at M0),
profiles step times, publishes hints, checkpoints, and resumes from its last checkpoint after a
restart at any size, mid-epoch. ``epochs(n)`` runs until the progress equals n epochs' worth of
iterations at M0, so "an epoch" is the same statistical work at any batch size; the last pass
over the data stops early when that is reached.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, TensorDataset, default_collate

from adaptsched.models import BatchLimits, JobModel, Metric
from adaptsched.models.hints import REFIT_INTERVAL_S
from adaptsched.train.batching import BatchConfig, choose_config
from adaptsched.train.cadence import StatsCadence
from adaptsched.train.checkpoint import CheckpointStore
from adaptsched.train.comm import PendingExchange
from adaptsched.train.distributed import Topology, init_distributed
from adaptsched.train.hints import HintSink
from adaptsched.train.noise import NoiseScaleEstimator
from adaptsched.train.profile_mode import ProfileComplete, ProfileRun
from adaptsched.train.profiler import StepProfiler
from adaptsched.train.runtime import resolve_defaults
from adaptsched.train.sampler import ElasticSampler, Shard
from adaptsched.train.scaling import ScalingRule, adascale_gain, default_rule_for
from adaptsched.train.signals import Preempted, PreemptionFlag
from adaptsched.train.state import TrainerState, publish_hints
from adaptsched.train.wrapper import AdaptiveDataParallel

log = logging.getLogger(__name__)

#: One replica without accumulation measures gradient norms on every this-many-th step, split
#: in two micro-batches (on the MNIST job at batch 64 a split step takes ~8 % longer: ~2 % in all).
SPLIT_STRIDE = 4
#: The job's first optimizer steps measure no gradient norms. An untrained model's first steps
#: are a transient: on the MNIST job one pair at step 3 measured |G|^2 = 237 where the full
#: training set's gradient had 1-3, and the smoothed estimate (an average over ~100 pairs)
#: carried it for epochs: 20.6 after the first epoch against 5.0 without it (docs/fidelity.md).
NOISE_WARMUP_STEPS = 5


class AdaptiveTrainer(TrainerState):
    """Adaptive batch size, LR scaling, noise scale, profiling and restarts for one job."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        dataset: Dataset[Any],
        *,
        limits: BatchLimits,
        metric: Metric | str | None = None,
        lr_scheduler: Any = None,
        scaling_rule: ScalingRule | None = None,
        checkpoint_dir: str | None = None,
        hint_sink: HintSink | None = None,
        seed: int = 0,
        collate_fn: Callable[[list[Any]], Any] = default_collate,
        checkpoint_interval_s: float = 300.0,
        refit_interval_s: float = REFIT_INTERVAL_S,
        fixed_config: BatchConfig | None = None,
        topology: Topology | None = None,
        stats_period_s: float = 0.2,
    ) -> None:
        """``metric``: a Metric or its name (``get_metric``). ``stats_period_s``: with several
        replicas, gradient norms are measured and exchanged (with the stop and checkpoint
        flags) about this often, every 1 to 8 steps (see :mod:`adaptsched.train.cadence`); 0
        means every step. ``checkpoint_dir``: where to save; without it nothing is saved and
        SIGTERM keeps its default action (no exit 75, which promises a checkpoint).
        ``metric``, ``checkpoint_dir`` and ``hint_sink`` default to what the runtime's
        environment says (:mod:`adaptsched.train.runtime`), else goodput, no checkpoints,
        no hints. Under ``adaptsched profile`` the environment switches on profiling mode
        (:mod:`adaptsched.train.profile_mode`): fixed configurations, no checkpoints."""
        _check_dataset(dataset, limits)
        metric, checkpoint_dir, hint_sink = resolve_defaults(metric, checkpoint_dir, hint_sink)
        self.topo = topology or init_distributed()
        samples = len(dataset)  # type: ignore[arg-type]
        self.profiling = ProfileRun.from_env(limits, self.topo.world_size, samples)
        if self.profiling is not None:
            checkpoint_dir, fixed_config = None, self.profiling.config()
        self.limits = limits
        self.metric = metric
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.rule = scaling_rule or default_rule_for(optimizer)
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.sampler = ElasticSampler(len(dataset), seed=seed)  # type: ignore[arg-type]
        self.estimator = NoiseScaleEstimator()
        self.profiler = StepProfiler(refit_interval_s=refit_interval_s)
        self.store = CheckpointStore(checkpoint_dir) if checkpoint_dir else None
        if self.store is not None and self.topo.rank == 0:
            self.store.check_writable()
        self.sink = hint_sink
        self.checkpoint_interval_s = checkpoint_interval_s
        self.fixed_config = fixed_config
        self.preemption = PreemptionFlag()
        if self.store is not None:
            self.preemption.install()
        self.extra_state: dict[str, Any] = {}
        self.progress = 0.0  # scale-invariant iterations at M0
        self.steps = 0  # optimizer steps taken
        self.epoch_closed = False  # the user's end-of-epoch code ran for sampler.epoch
        self.config: BatchConfig | None = None
        self.last_shard: Shard | None = None
        self._mark_s: float | None = None
        self._full_step = True  # the current step has its whole batch (not an epoch's ragged tail)
        self._unstepped = False  # a micro-batch was handed out and step() not called since
        self._last_save_s = time.monotonic()
        self._resumed = self.load_checkpoint(model)
        self.cadence = StatsCadence(stats_period_s, step=self.steps)
        self.model = AdaptiveDataParallel(model, self.topo)
        self.grad_state = self.model.grad_state
        self._in_flight: PendingExchange | None = None
        self._lr_cache: tuple[tuple[int, int], tuple[float, float]] | None = None
        self._reported = False  # hints sent since this process started

    # -- epochs and batches -------------------------------------------------------------------
    @property
    def iterations_per_epoch(self) -> float:
        """Iterations at M0 in one pass over the data: the unit of statistical epochs."""
        return self.sampler.length / self.limits.init_batch

    @property
    def statistical_epochs(self) -> float:
        return self.progress / self.iterations_per_epoch

    def epochs(self, count: float) -> Iterator[int]:
        """Yield epoch numbers until ``count`` statistical epochs are done, resuming where the
        last checkpoint left off; checkpoints after the caller's end-of-epoch code. With a
        checkpoint folder, SIGTERM means "checkpoint and exit 75" until this loop ends; then
        its previous handler is back (and gets a SIGTERM that arrived too late to act on)."""
        target = _checked_count(count) * self.iterations_per_epoch
        if self.store is None and self.profiling is None:
            log.warning("no checkpoint_dir: nothing is saved, a SIGTERM ends the job as is")
        self._target = self.target_progress = target
        if self.profiling is not None:
            self._target = target = math.inf  # the profiling plan decides when it ends
        if self.store is not None:
            self.preemption.install()
        self.decide_batch()  # first start or restart: re-decide for this allocation
        publish_hints(self)  # the scheduler learns the work target at once
        try:
            yield from self._epoch_loop(target)
        finally:
            self._target = math.inf
            self.preemption.uninstall()

    def _epoch_loop(self, target: float) -> Iterator[int]:
        while True:
            if self.sampler.remaining == 0 and self.epoch_closed:
                self.sampler.set_epoch(self.sampler.epoch + 1)
                self.epoch_closed = False
                self.decide_batch()
            done = self.progress >= target - 1e-9 or self._profiled
            if done and (self.epoch_closed or self.sampler.position == 0):
                return  # (an epoch cut short by a checkpoint is still handed to the caller)
            yield self.sampler.epoch
            self.epoch_closed = True
            self._settle_exchange()
            self.save_checkpoint()
            publish_hints(self)

    _target = math.inf
    #: Work target of the last ``epochs()`` call, in iterations at M0 (published in hints).
    target_progress: float | None = None

    def batches(self) -> Iterator[Any]:
        """This replica's micro-batches for the rest of the current epoch. Call ``step()``
        after the backward of each one."""
        if self._profiled:
            raise ProfileComplete  # the script trains on after the plan: it is finished
        self._mark_s = None
        world, rank = self.topo.world_size, self.topo.rank
        while (
            self.sampler.remaining > 0
            and self.progress < self._target - 1e-9
            and not self._profiled
        ):
            cfg = self.config or self.decide_batch()
            per_micro = world * cfg.local_bsz
            cycle = min(cfg.accum_steps + 1, math.ceil(self.sampler.remaining / per_micro))
            full = self.sampler.remaining >= per_micro * (cfg.accum_steps + 1)
            measure = full and self._measure_step(self.steps + 1, cfg)
            sizes = micro_sizes(cfg, world, cycle, split=measure)
            self.grad_state.micro_steps = len(sizes)
            self.grad_state.measure = measure
            # a split step's time is not the configuration's: the profiler skips it
            self._full_step = full and len(sizes) == cycle
            for micro, size in enumerate(sizes):
                shard = self.sampler.next_shard(rank, world, size)
                self.last_shard = shard
                self.model.accumulating = micro < len(sizes) - 1
                self._unstepped = True
                yield self._load(shard)
                if self._unstepped:
                    raise TrainerUsageError(
                        "trainer.step() was not called after a micro-batch: call it after "
                        "each backward instead of optimizer.step() (it steps the optimizer "
                        "at the scaled learning rate and counts progress; without it the job "
                        "makes no progress and epochs() never ends)"
                    )
                if micro < len(sizes) - 1 and measure and world == 1:
                    self.model.record_micro(micro)
        self.model.accumulating = False

    def _load(self, shard: Shard) -> Any:
        if isinstance(self.dataset, TensorDataset):  # fast path: one gather per tensor
            index = torch.tensor(shard.indices)
            batch: Any = [t[index] for t in self.dataset.tensors]
        else:
            batch = self.collate_fn([self.dataset[i] for i in shard.indices])
        return _to_device(batch, self.topo.device)

    # -- one step -----------------------------------------------------------------------------
    def lr_factor(self) -> tuple[float, float]:
        """(learning-rate factor, AdaScale gain r) at the current total batch; recomputed only
        when the batch or the gradient statistics changed (it runs every step)."""
        cfg = self.config or self.decide_batch()
        key = (cfg.total(self.topo.world_size), self.estimator.count)
        if self._lr_cache is None or self._lr_cache[0] != key:
            scale = key[0] / self.limits.init_batch
            stats = self.estimator.stats(self.limits.init_batch)
            gain = adascale_gain(stats.var, stats.sqr, scale) if stats else 1.0
            self._lr_cache = (key, (self.rule.factor(gain, scale), gain))
        return self._lr_cache[1]

    def step(self) -> bool:
        """After each micro-batch's backward: on the last micro-step of an accumulation cycle,
        take the optimizer step (LR scaled) and do the bookkeeping. Returns whether it did."""
        now = time.perf_counter()
        last, self._mark_s = self._mark_s, now
        self._unstepped = False
        if self.model.accumulating:
            return False
        cfg = self.config or self.decide_batch()
        if last is not None and self.topo.rank == 0:  # only rank 0 proposes the stride
            self.cadence.observe(now - last)
        if last is not None and self._full_step:
            sync_s = now - self.grad_state.last_hook_s if self.topo.world_size > 1 else 0.0
            self.profiler.record(
                self.topo.nodes, self.topo.world_size, cfg.local_bsz, now - last, sync_s
            )
        self.model.record_reduced_norm()
        factor, gain = self.lr_factor()
        self._optimizer_step(factor)
        self.grad_state.end_step()
        self.progress += gain
        self.steps += 1
        if self.topo.rank == 0 and (not self._reported or self.profiler.due()):
            # The first step of every process tells the runtime this generation trains.
            self._reported = True
            if self.profiler.due():
                self.profiler.refit()
            publish_hints(self)
        if self._stats_step(self.steps):
            self.cadence.exchanged(self.steps, self._settle_exchange())
            lead = self.topo.rank == 0
            save_due = lead and time.monotonic() - self._last_save_s >= self.checkpoint_interval_s
            flags = (self.preemption.requested, save_due, self.cadence.proposal() if lead else 0)
            self._in_flight = self.grad_state.exchange(
                cfg.local_bsz * (cfg.accum_steps + 1), tuple(float(f) for f in flags)
            )
        if self.profiling is not None:
            self._after_profiled_step(self.profiling)
        return True

    @property
    def _profiled(self) -> bool:
        """Profiling mode, and its plan is complete."""
        return self.profiling is not None and self.profiling.done

    def _after_profiled_step(self, run: ProfileRun) -> None:
        if run.after_step(self):  # the next configuration of the plan
            self.fixed_config = run.config()
            self.decide_batch()
        if run.done:
            self._settle_exchange()  # nothing left in flight when the loops end

    def report_metric(self, value: float) -> None:
        """The script's latest validation metric (test accuracy, loss...). Only profiling
        records it, in the epoch rows of ``validation-<M>.csv``; otherwise it is ignored."""
        if self.profiling is not None:
            self.profiling.report_metric(value, self)

    def _stats_step(self, step: int) -> bool:
        """Whether optimizer step number ``step`` exchanges norms and flags (the same answer on
        every replica). One replica's exchange is local, so it runs every step."""
        return self.topo.world_size == 1 or self.cadence.due(step)

    def _measure_step(self, step: int, cfg: BatchConfig) -> bool:
        """Whether step ``step`` measures gradient norms: none of the job's first
        ``NOISE_WARMUP_STEPS``; then with several replicas on every exchange; with one, every
        step that accumulates (its micro-batches are the pair) and every ``SPLIT_STRIDE``-th
        step otherwise (that step is split in two micro-batches)."""
        if step <= NOISE_WARMUP_STEPS:
            return False
        if self.topo.world_size > 1:
            return self.cadence.due(step)
        return cfg.accum_steps > 0 or step % SPLIT_STRIDE == 0

    def _settle_exchange(self) -> float:
        """Collect the exchange in flight (if any): fold in the norms; checkpoint, or
        checkpoint and exit, when a replica asked to. Every replica settles the same exchange
        at the same step, so all take the same decision. Returns rank 0's proposed
        statistics stride (0 when nothing was in flight)."""
        pending, self._in_flight = self._in_flight, None
        if pending is None:
            return 0.0
        sample, (stop, save, stride) = pending.result()
        if sample is not None:
            self.estimator.update(sample)
        if stop > 0:
            self.save_checkpoint()
            publish_hints(self)
            log.info("preempted: checkpoint written at step %d, exiting", self.steps)
            self.preemption.acted_on()
            raise Preempted
        if save > 0:
            self.save_checkpoint()
            self._mark_s = None
        return stride

    def _optimizer_step(self, factor: float) -> None:
        groups = self.optimizer.param_groups
        base = [g["lr"] for g in groups]
        for g, lr in zip(groups, base, strict=True):
            g["lr"] = lr * factor
        try:
            self.optimizer.step()
        finally:
            for g, lr in zip(groups, base, strict=True):
                g["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)

    # -- batch decisions ----------------------------------------------------------------------
    def job_model(self) -> JobModel | None:
        """The current performance model, once both halves have been measured."""
        params = self.profiler.params
        stats = self.estimator.stats(self.limits.init_batch)
        if params is None or stats is None:
            return None
        return JobModel(params, stats, self.limits)

    def decide_batch(self) -> BatchConfig:
        """Rank 0 picks the configuration and every replica adopts it."""
        if self.fixed_config is not None:
            chosen = self.fixed_config
        else:
            if self.topo.rank == 0 and self.profiler.observations() is not None:
                self.profiler.refit()
            chosen = choose_config(
                self.limits,
                self.job_model() if self.topo.rank == 0 else None,
                self.metric,
                self.topo.nodes,
                self.topo.world_size,
                self.config,
            )
            if self.topo.world_size > 1:
                pair = torch.tensor([chosen.local_bsz, chosen.accum_steps], device=self.topo.device)
                dist.broadcast(pair, src=0)
                chosen = BatchConfig(int(pair[0]), int(pair[1]))
        if chosen != self.config:
            log.info("batch configuration %s (replicas %d)", chosen, self.topo.world_size)
        self.config = chosen
        return chosen


def micro_sizes(cfg: BatchConfig, world: int, cycle: int, split: bool) -> list[int]:
    """Local batch of each micro-batch of the next step: ``cycle`` of ``cfg.local_bsz``; a
    measuring step of one replica without accumulation is split in two halves (its gradient is
    still the mean over the same samples, up to the halves' weights when the batch is odd)."""
    if split and world == 1 and cycle == 1 and cfg.local_bsz >= 2:
        half = cfg.local_bsz // 2
        return [half, cfg.local_bsz - half]
    return [cfg.local_bsz] * cycle


class TrainerUsageError(RuntimeError):
    """The script drives the trainer in a way that could never make progress."""


def _checked_count(count: float) -> float:
    """``epochs(count)``: a finite number >= 0 (NaN or infinity would loop forever)."""
    valid = isinstance(count, int | float) and not isinstance(count, bool)
    if not valid or not math.isfinite(count) or count < 0:
        raise ValueError(f"epochs: count must be a finite number >= 0, got {count!r}")
    return float(count)


def _check_dataset(dataset: Dataset[Any], limits: BatchLimits) -> None:
    """An epoch must hold at least one step at M0: with fewer samples, one step would count
    as several epochs."""
    size = len(dataset)  # type: ignore[arg-type]
    if size < limits.init_batch:
        raise ValueError(
            f"dataset: {size} samples, fewer than the initial batch M0 = {limits.init_batch} "
            "(limits.init_batch); an epoch must hold at least one step at M0"
        )


def _to_device(batch: Any, device: torch.device) -> Any:
    if device.type == "cpu":
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(b, device) for b in batch)
    return batch
