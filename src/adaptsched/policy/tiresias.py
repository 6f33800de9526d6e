"""Tiresias (Gu et al., NSDI'19), discretised two-queue least-attained-service, as the Pollux
paper's simulator runs it: a job enters the high-priority queue and moves to the low one once
it has used 16 GPU-hours; each queue is first come first served; every job asks for its fixed
GPU count and keeps its placement while it stays admitted; lower-priority jobs that still fit
are admitted too (backfilling); replicas are packed onto the freest nodes."""

from __future__ import annotations

from typing import ClassVar

from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, Policy
from adaptsched.policy.packing import FreeGpus, keep_valid

#: Attained service after which a job is demoted (Pollux's setting: 16 GPU-hours).
QUEUE_THRESHOLD_GPU_S = 16 * 3600.0


class TiresiasPolicy(Policy):
    name: ClassVar[str] = "tiresias"
    adaptive_jobs: ClassVar[bool] = False

    def __init__(self, threshold_gpu_s: float = QUEUE_THRESHOLD_GPU_S) -> None:
        self.threshold_gpu_s = threshold_gpu_s

    def _priority(self, job: JobInfo) -> tuple[int, float, str]:
        demoted = int(job.attained_gpu_s >= self.threshold_gpu_s)
        return demoted, job.submit_time_s, job.job_id

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        budget = snapshot.total_gpus
        admitted: list[JobInfo] = []
        for job in sorted(snapshot.jobs, key=self._priority):
            want = job.fixed_replicas or 1
            if want <= budget:
                admitted.append(job)
                budget -= want
        ids = {j.job_id for j in admitted}
        allocations = keep_valid(snapshot, ids)
        free = FreeGpus(snapshot, allocations)
        for job in admitted:
            if job.job_id not in allocations:
                placement = free.pack(job.fixed_replicas or 1)
                if placement is not None:
                    allocations[job.job_id] = placement
        return Decision(allocations=allocations)
