"""First come, first served with each job's fixed GPU count: the simplest baseline."""

from __future__ import annotations

from typing import ClassVar

from adaptsched.policy.base import ClusterSnapshot, Decision, Policy
from adaptsched.policy.packing import FreeGpus, keep_valid


class FifoPolicy(Policy):
    """Jobs start in submission order and keep their GPUs until they finish; the first job
    that does not fit blocks the ones behind it (no backfilling)."""

    name: ClassVar[str] = "fifo"
    adaptive_jobs: ClassVar[bool] = False

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        running = {j.job_id for j in snapshot.jobs if j.allocation}
        allocations = keep_valid(snapshot, running)
        free = FreeGpus(snapshot, allocations)
        for job in sorted(snapshot.jobs, key=lambda j: (j.submit_time_s, j.job_id)):
            if job.job_id in allocations:
                continue
            placement = free.pack(job.fixed_replicas or 1)
            if placement is None:
                break
            allocations[job.job_id] = placement
        return Decision(allocations=allocations)
