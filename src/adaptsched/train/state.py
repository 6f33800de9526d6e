"""What the trainer saves and restores, and the hints it publishes.

A checkpoint holds everything needed to continue as if nothing happened: model, optimizer, LR
scheduler, sampler position, noise-scale state, step-time profile, progress, and any extra
objects the script registered (``register_state``). Only rank 0 writes; every replica reads
(a shared directory, as with any multi-node checkpointing).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import torch.distributed as dist
from torch import nn

from adaptsched.train.hints import Hints

if TYPE_CHECKING:
    from adaptsched.train.trainer import AdaptiveTrainer

log = logging.getLogger(__name__)


class TrainerState:
    """Checkpoint save/restore for :class:`AdaptiveTrainer` (a mixin over its fields)."""

    def register_state(self: AdaptiveTrainer, name: str, obj: Any) -> None:
        """Save and restore ``obj`` (anything with state_dict/load_state_dict) with the job;
        restores it now if the checkpoint loaded at start-up has it."""
        self.extra_state[name] = obj
        pending = getattr(self, "_pending_extra", {})
        if name in pending:
            obj.load_state_dict(pending.pop(name))

    def state_dict(self: AdaptiveTrainer) -> dict[str, Any]:
        scheduler = self.lr_scheduler.state_dict() if self.lr_scheduler is not None else None
        return {
            "model": self.model.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_scheduler": scheduler,
            "sampler": self.sampler.state_dict(),
            "noise": self.estimator.state_dict(),
            "profile": self.profiler.state_dict(),
            "progress": self.progress,
            "steps": self.steps,
            "epoch_closed": self.epoch_closed,
            "replicas": self.topo.world_size,
            "extra": {name: obj.state_dict() for name, obj in self.extra_state.items()},
        }

    def save_checkpoint(self: AdaptiveTrainer) -> None:
        """Collective: rank 0 writes, then every replica waits for it."""
        if self.store is None:
            return
        if self.topo.rank == 0:
            start_s = time.monotonic()
            path = self.store.save(self.state_dict())
            log.info("checkpoint %s in %.2f s", path.name, time.monotonic() - start_s)
        if self.topo.world_size > 1:
            dist.barrier()
        self._last_save_s = time.monotonic()

    def load_checkpoint(self: AdaptiveTrainer, model: nn.Module) -> bool:
        """Restore from the newest valid checkpoint, if any; returns whether one was found."""
        if self.store is None:
            return False
        state = self.store.load_latest()
        if state is None:
            return False
        model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.lr_scheduler is not None and state["lr_scheduler"] is not None:
            self.lr_scheduler.load_state_dict(state["lr_scheduler"])
        self.sampler.load_state_dict(state["sampler"])
        self.estimator.load_state_dict(state["noise"])
        self.profiler.load_state_dict(state["profile"])
        self.progress = float(state["progress"])
        self.steps = int(state["steps"])
        self.epoch_closed = bool(state["epoch_closed"])
        self._pending_extra = dict(state["extra"])
        log.info(
            "resumed at epoch %d position %d (step %d, %d replicas before, %d now)",
            self.sampler.epoch,
            self.sampler.position,
            self.steps,
            state["replicas"],
            self.topo.world_size,
        )
        return True


def publish_hints(trainer: AdaptiveTrainer) -> None:
    """Send the job's current self-description to the hint sink (rank 0 only)."""
    if trainer.topo.rank != 0:
        return
    try:
        trainer.sink.publish(build_hints(trainer))
    except OSError as exc:
        log.warning("could not publish hints: %s", exc)


def build_hints(trainer: AdaptiveTrainer) -> Hints:
    """The job's current self-description (what the scheduler and the profiler read)."""
    lim = trainer.limits
    cfg = trainer.config
    stats = trainer.estimator.stats(lim.init_batch)
    params = trainer.profiler.params
    return Hints(
        metric=trainer.metric.name,
        init_batch=lim.init_batch,
        max_batch=lim.max_batch,
        min_local_bsz=lim.min_local,
        max_local_bsz=lim.max_local,
        max_accum_steps=lim.max_accum_steps,
        progress=trainer.progress,
        epoch=trainer.sampler.epoch,
        nodes=trainer.topo.nodes,
        replicas=trainer.topo.world_size,
        local_bsz=cfg.local_bsz if cfg else 0,
        accum_steps=cfg.accum_steps if cfg else 0,
        throughput_params=None
        if params is None
        else dict(zip(params.field_names(), params.as_array().tolist(), strict=True)),
        grad_sqr=stats.sqr if stats else None,
        grad_var=stats.var if stats else None,
        observations=trainer.profiler.rows(),
        target_progress=trainer.target_progress,
    )
