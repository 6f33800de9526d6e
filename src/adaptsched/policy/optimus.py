"""Optimus+Oracle (Peng et al., EuroSys'18, as run in the Pollux paper): every job gets one GPU,
then GPUs go one at a time to the job whose remaining running time falls the most, predicted
from the job's true step times (the ``oracle`` model) at its fixed batch size."""

from __future__ import annotations

import heapq
import math
from typing import ClassVar

from adaptsched.models import iteration_time
from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, Placement, Policy
from adaptsched.policy.batching import split_batch
from adaptsched.policy.packing import FreeGpus, keep_valid


def predicted_step_s(job: JobInfo, replicas: int, gpus_per_node: int) -> float:
    """Seconds per step of ``job`` on ``replicas`` GPUs packed onto as few nodes as possible."""
    model = job.oracle or job.model
    if model is None:
        return 1.0 / replicas
    batch = job.fixed_batch or model.limits.init_batch
    local, accum = split_batch(batch, replicas, model.limits)
    nodes = math.ceil(replicas / max(gpus_per_node, 1))
    return float(iteration_time(model.params, nodes, replicas, local, accum))


class OptimusPolicy(Policy):
    name: ClassVar[str] = "optimus"
    adaptive_jobs: ClassVar[bool] = False

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        replicas = self._counts(snapshot)
        keep = {j.job_id for j in snapshot.jobs if len(j.allocation) == replicas[j.job_id]}
        allocations = keep_valid(snapshot, keep)
        free = FreeGpus(snapshot, allocations)
        todo = [j for j in snapshot.jobs if j.job_id not in allocations and replicas[j.job_id]]
        for job in sorted(todo, key=lambda j: -replicas[j.job_id]):
            placement = self._place(free, replicas[job.job_id])
            if placement:
                allocations[job.job_id] = placement
        return Decision(allocations=allocations)

    @staticmethod
    def _place(free: FreeGpus, wanted: int) -> Placement | None:
        for count in range(wanted, 0, -1):
            placement = free.pack(count)
            if placement is not None:
                return placement
        return None

    @staticmethod
    def _counts(snapshot: ClusterSnapshot) -> dict[str, int]:
        """GPUs per job: one each in submission order, then greedy by marginal gain."""
        per_node = snapshot.gpus_per_node
        gpus = snapshot.total_gpus
        counts: dict[str, int] = {}
        heap: list[tuple[float, float, str]] = []
        by_id = {j.job_id: j for j in snapshot.jobs}

        def push(job: JobInfo) -> None:
            k = counts[job.job_id]
            if k + 1 > job.max_replicas:
                return
            steps = job.remaining_steps if job.remaining_steps is not None else 1.0
            gain = predicted_step_s(job, k, per_node) - predicted_step_s(job, k + 1, per_node)
            if gain * steps > 0:
                heapq.heappush(heap, (-gain * steps, job.submit_time_s, job.job_id))

        for job in sorted(snapshot.jobs, key=lambda j: (j.submit_time_s, j.job_id)):
            counts[job.job_id] = 1 if gpus > 0 else 0
            gpus -= counts[job.job_id]
            if counts[job.job_id]:
                push(job)
        while gpus > 0 and heap:
            _, _, job_id = heapq.heappop(heap)
            counts[job_id] += 1
            gpus -= 1
            push(by_id[job_id])
        return counts
