"""What every policy takes and returns: a frozen snapshot of the cluster in, a frozen decision
out. Policies are small pure classes with one method, `decide`; the simulator and the runtime
call them identically (no I/O, no clocks, no environment variables inside a policy)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from adaptsched.models import GOODPUT, JobModel, Metric

#: A placement: the node id of every replica, e.g. ("n0", "n0", "n3") = 2 GPUs on n0, 1 on n3.
Placement = tuple[str, ...]


@dataclass(frozen=True)
class NodeInfo:
    """A node the policy may place replicas on."""

    node_id: str
    gpus: int
    ready: bool = True  # False while still provisioning (autoscaling): not placeable yet


@dataclass(frozen=True)
class JobInfo:
    """Everything a policy may know about one job at the start of a round.

    ``model`` is the scheduler's current belief (fitted throughput + gradient statistics +
    batch limits); ``oracle`` is an optional truth-based model a simulator may provide for
    oracle baselines (Optimus+Oracle). Non-adaptive jobs carry ``fixed_replicas`` and
    ``fixed_batch`` (the workload's hand-tuned configuration).
    """

    job_id: str
    submit_time_s: float
    age_s: float  # seconds since submission
    model: JobModel | None = None
    metric: Metric = GOODPUT
    allocation: Placement = ()
    restarts: int = 0
    attained_gpu_s: float = 0.0  # attained service, GPU-seconds
    min_replicas: int = 0
    max_replicas: int = 64
    max_nodes: int = 16
    fixed_replicas: int | None = None
    fixed_batch: int | None = None
    oracle: JobModel | None = None
    remaining_fraction: float = 1.0  # share of the job's work still to do, in (0, 1]
    remaining_steps: float | None = None  # oracle: optimizer steps left at ``fixed_batch``
    #: Statistical work left in samples at M0: known to the job itself (its epoch target and
    #: its scale-invariant progress), None when the job did not declare a target.
    remaining_samples: float | None = None


@dataclass(frozen=True)
class ClusterSnapshot:
    """The cluster at the start of a round: nodes, jobs (in submission order) and bounds."""

    time_s: float
    nodes: tuple[NodeInfo, ...]
    jobs: tuple[JobInfo, ...]
    min_nodes: int = 1
    max_nodes: int = 16
    gpus_per_node: int = 4
    autoscale: bool = False
    cluster_metric: Metric = GOODPUT  # drives the autoscaler's utility band
    #: Seconds a job's restart costs on this engine, when measured (the runtime); None: the
    #: policy's own assumption (Pollux's 30 s, which the simulator charges).
    restart_s: float | None = None

    @property
    def total_gpus(self) -> int:
        return sum(n.gpus for n in self.nodes if n.ready)


@dataclass(frozen=True)
class Decision:
    """A policy's answer: the placement of every job (absent or () = no GPUs) and, when
    autoscaling, the node count it wants."""

    allocations: Mapping[str, Placement]
    desired_nodes: int | None = None
    info: Mapping[str, float] = field(default_factory=dict)  # e.g. utility, for logs


class Policy(ABC):
    """A scheduling policy: one method, same input type for all."""

    name: ClassVar[str]
    #: True: jobs pick their own batch size (Pollux); False: they keep the workload's fixed
    #: batch size, as the non-adaptive baselines assume.
    adaptive_jobs: ClassVar[bool] = True

    @abstractmethod
    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        """Return the allocations (and desired node count) for this round."""

    def state_dict(self) -> dict[str, Any]:
        """What the policy carries from one round to the next (JSON-ready), so that a policy
        restored from a state store decides as the one that was running; none by default."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        if state:
            raise ValueError(f"policy {self.name!r} carries no state, got {sorted(state)}")
