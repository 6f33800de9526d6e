"""Profiling mode: the trainer measures fixed batch configurations for ``adaptsched profile``
and then ends the script's training loop, instead of adapting and training to the end.

``adaptsched profile --script`` starts the user's unchanged script with the variables below
(names in :mod:`adaptsched.runtime_env`); without them none of this runs.

- ``ADAPTSCHED_PROFILE_LOCAL_BSZ`` = ``8,16`` and ``ADAPTSCHED_PROFILE_STEPS`` = N: hold each
  local batch in turn, without accumulation, until the step profiler has N timed steps of it
  (the rows of ``placements.csv``).
- ``ADAPTSCHED_PROFILE_BATCH`` = M and ``ADAPTSCHED_PROFILE_EPOCHS`` = E: hold the total batch M
  (split over the replicas, accumulating beyond the largest local batch) for E statistical
  epochs, recording progress and gradient statistics as each is crossed (``validation-M.csv``).
- ``ADAPTSCHED_PROFILE_OUT``: the JSON file rank 0 rewrites whenever it has something new: the
  job's hints (batch limits, the step profiler's rows, gradient statistics), the epoch rows,
  and whether the plan is complete.

The numbers are the trainer's own (its step profiler and noise estimator), so a profile shows
what the adaptive job itself would see. When the plan is complete the loops end as if training
had finished: ``batches()`` stops, ``epochs()`` returns after the script's end-of-epoch code
whatever count it was given, and a later ``batches()`` call exits the process with status 0.
Checkpoints are neither loaded nor written: a measurement starts from scratch and leaves the
job's own checkpoints alone.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adaptsched import runtime_env as renv
from adaptsched.models import BatchLimits
from adaptsched.train.batching import BatchConfig
from adaptsched.train.checkpoint import write_atomic
from adaptsched.train.state import build_hints

if TYPE_CHECKING:
    from adaptsched.train.trainer import AdaptiveTrainer

#: Slack when comparing progress with an epoch boundary (progress is a float sum of gains).
EPOCH_SLACK = 1e-9


class ProfileComplete(SystemExit):
    """A script asked for more batches after the profiling plan was complete: exit 0."""

    def __init__(self) -> None:
        super().__init__(0)


@dataclass(frozen=True)
class ProfilePlan:
    """What to measure: local batches for N timed steps each, or total batch M for E epochs."""

    out: str
    local_bsz: tuple[int, ...] = ()
    steps: int = 0
    batch: int = 0
    epochs: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProfilePlan | None:
        """The plan the environment gives; None when no profiling variable is set."""
        env = os.environ if env is None else env
        names = (renv.PROFILE_LOCAL_BSZ, renv.PROFILE_STEPS, renv.PROFILE_BATCH)
        if not any(env.get(name) for name in (renv.PROFILE_OUT, *names, renv.PROFILE_EPOCHS)):
            return None
        out = env.get(renv.PROFILE_OUT, "")
        if not out:
            raise ValueError(f"{renv.PROFILE_OUT}: must name the file to write the profile to")
        if env.get(renv.PROFILE_LOCAL_BSZ):
            sizes = env[renv.PROFILE_LOCAL_BSZ].split(",")
            local = tuple(_positive(renv.PROFILE_LOCAL_BSZ, size) for size in sizes)
            steps = _positive(renv.PROFILE_STEPS, env.get(renv.PROFILE_STEPS, ""))
            return cls(out, local_bsz=local, steps=steps)
        batch = _positive(renv.PROFILE_BATCH, env.get(renv.PROFILE_BATCH, ""))
        epochs = _positive(renv.PROFILE_EPOCHS, env.get(renv.PROFILE_EPOCHS, ""))
        return cls(out, batch=batch, epochs=epochs)


def _positive(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {text!r}")
    return value


def config_for_batch(batch: int, replicas: int, max_local: int) -> BatchConfig:
    """Local batch and accumulation giving exactly ``batch`` on ``replicas``, the local batch
    at most ``max_local`` (with as few micro-steps as that allows)."""
    if batch % replicas:
        raise ValueError(f"batch {batch}: not divisible by {replicas} replicas")
    per_replica = batch // replicas
    micro = math.ceil(per_replica / max_local)
    while per_replica % micro:
        micro += 1
    return BatchConfig(per_replica // micro, micro - 1)


class ProfileRun:
    """One process's progress through a plan. Every replica takes the same decisions at the
    same step (they read step counts and progress, which the replicas share), so they leave
    their loops together; only rank 0 writes."""

    def __init__(self, plan: ProfilePlan, limits: BatchLimits, replicas: int, samples: int) -> None:
        """``samples``: the data set's size. A step larger than the data set is never a full
        step, and only full steps are timed: refused here rather than waited for."""
        self.plan = plan
        self.limits = limits
        self.replicas = replicas
        self.index = 0  # position in plan.local_bsz
        self.epochs: list[dict[str, float | None]] = []
        self.done = False
        for cfg in self._planned():
            if cfg.total(replicas) > samples:
                raise ValueError(
                    f"profiling: local batch {cfg.local_bsz} x {cfg.accum_steps + 1} "
                    f"micro-steps x {replicas} replicas takes {cfg.total(replicas)} samples a "
                    f"step, more than the data set's {samples}"
                )

    @classmethod
    def from_env(cls, limits: BatchLimits, replicas: int, samples: int) -> ProfileRun | None:
        """Profiling mode if the environment asks for it (:meth:`ProfilePlan.from_env`)."""
        plan = ProfilePlan.from_env()
        return cls(plan, limits, replicas, samples) if plan else None

    def _planned(self) -> list[BatchConfig]:
        if self.plan.local_bsz:
            return [BatchConfig(size, 0) for size in self.plan.local_bsz]
        return [config_for_batch(self.plan.batch, self.replicas, self.limits.local_upper)]

    def config(self) -> BatchConfig:
        """The configuration to hold now."""
        return self._planned()[self.index]

    def after_step(self, trainer: AdaptiveTrainer) -> bool:
        """Called after each optimizer step; returns whether the configuration changed."""
        if self.plan.local_bsz:
            return self._after_timed_step(trainer)
        if trainer.statistical_epochs >= len(self.epochs) + 1 - EPOCH_SLACK:
            stats = trainer.estimator.stats(self.limits.init_batch)
            self.epochs.append(
                {
                    "progress": trainer.progress,
                    "iteration": trainer.steps,
                    "metric": None,
                    "grad_sqr": stats.sqr if stats else 0.0,
                    "grad_var": stats.var if stats else 0.0,
                }
            )
            self.done = len(self.epochs) >= self.plan.epochs
            self.write(trainer)
        return False

    def _after_timed_step(self, trainer: AdaptiveTrainer) -> bool:
        topo = trainer.topo
        key = (topo.nodes, topo.world_size, self.plan.local_bsz[self.index])
        if trainer.profiler.count(*key) < self.plan.steps:
            return False
        if self.index + 1 < len(self.plan.local_bsz):
            self.index += 1
        else:
            self.done = True
        self.write(trainer)
        return not self.done

    def report_metric(self, value: float, trainer: AdaptiveTrainer) -> None:
        """The script's validation metric: it belongs to every epoch row still without one
        (the script evaluates after the epoch it measures)."""
        pending = [row for row in self.epochs if row["metric"] is None]
        for row in pending:
            row["metric"] = float(value)
        if pending:
            self.write(trainer)

    def write(self, trainer: AdaptiveTrainer) -> None:
        if trainer.topo.rank != 0:
            return
        body: dict[str, Any] = {
            "plan": asdict(self.plan),
            "done": self.done,
            "hints": build_hints(trainer).to_json(),
            "epochs": self.epochs,
        }
        path = Path(self.plan.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(body, indent=1).encode())
