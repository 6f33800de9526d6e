"""Process-group set-up: the same code under torchrun, under the scheduler, or alone.

torchrun (and the runtime) export RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and
MASTER_PORT; a script started by hand has none of them and becomes a one-replica group, so the
training code has one path. The backend is NCCL when CUDA is available, gloo otherwise.
"""

from __future__ import annotations

import atexit
import datetime
import logging
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from adaptsched.runtime_env import NUM_NODES as NODES_ENV  # the runtime sets the node count

#: How long a leaving replica waits for its peers before tearing the group down anyway.
LEAVE_TIMEOUT_S = 60.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topology:
    """Where this process sits in the job."""

    rank: int
    world_size: int  # K, replicas
    nodes: int  # N
    local_rank: int
    backend: str

    @property
    def device(self) -> torch.device:
        """This replica's GPU under NCCL: its local rank among the GPUs it can see (all of
        the node's under torchrun; only its own, as index 0, when a scheduler such as Ray
        narrows CUDA_VISIBLE_DEVICES to one GPU per process)."""
        if self.backend == "nccl":
            return torch.device("cuda", self.local_rank % max(torch.cuda.device_count(), 1))
        return torch.device("cpu")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}: not an integer: {value!r}") from None


def init_distributed(backend: str | None = None) -> Topology:
    """Join (or create) the default process group and describe it."""
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        if "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ:
            dist.init_process_group(backend, init_method="env://")
        else:
            dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
        atexit.register(leave_distributed)
    world = dist.get_world_size()
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    nodes = _env_int(NODES_ENV, max(1, math.ceil(world / max(local_world, 1))))
    if not 1 <= nodes <= world:
        raise ValueError(f"{NODES_ENV}: {nodes} nodes for {world} replicas")
    topo = Topology(
        rank=dist.get_rank(),
        world_size=world,
        nodes=nodes,
        local_rank=_env_int("LOCAL_RANK", 0),
        backend=dist.get_backend(),
    )
    if topo.backend == "nccl":
        torch.cuda.set_device(topo.device)
    return topo


def leave_distributed(timeout_s: float = LEAVE_TIMEOUT_S) -> None:
    """Wait for the peers, then destroy the process group. A replica whose interpreter exits
    with the gloo group still alive, while a peer's last collective is in flight, aborts with
    "terminate called without an active exception" (SIGABRT); registered at exit by
    ``init_distributed``. A dead peer only delays the exit by ``timeout_s``."""
    if not dist.is_initialized():
        return
    try:
        if dist.get_backend() == "gloo" and dist.get_world_size() > 1:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=timeout_s))
    except RuntimeError as exc:  # a peer is gone: leave anyway
        log.warning("leaving the process group without every peer: %s", exc)
    dist.destroy_process_group()
