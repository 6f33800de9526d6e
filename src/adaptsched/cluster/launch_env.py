"""The environment of every replica of a generation: the variables ``torchrun`` would set
(so a script written for torchrun runs unchanged) and the ones that tell the training library
who it is and where its checkpoints and hints go."""

from __future__ import annotations

from dataclasses import dataclass

from adaptsched import runtime_env as renv
from adaptsched.policy.base import Placement


@dataclass(frozen=True)
class JobEnv:
    """What every replica of one generation shares."""

    job_id: str
    generation: int
    job_dir: str
    checkpoint_dir: str
    metric: str
    hints_url: str
    token: str = ""
    threads: int | None = None  # torch/OpenMP threads per replica (None: leave the default)


def replica_envs(
    placement: Placement, master_addr: str, master_port: int, job: JobEnv
) -> list[dict[str, str]]:
    """One environment per rank; ranks follow the placement's order, nodes numbered by first
    appearance."""
    node_order = list(dict.fromkeys(placement))
    seen: dict[str, int] = {}
    out = []
    for rank, node in enumerate(placement):
        local_rank = seen.get(node, 0)
        seen[node] = local_rank + 1
        env = {
            "RANK": str(rank),
            "WORLD_SIZE": str(len(placement)),
            "LOCAL_RANK": str(local_rank),
            "LOCAL_WORLD_SIZE": str(placement.count(node)),
            "GROUP_RANK": str(node_order.index(node)),
            "NODE_RANK": str(node_order.index(node)),
            "MASTER_ADDR": master_addr,
            "MASTER_PORT": str(master_port),
            renv.NUM_NODES: str(len(node_order)),
            renv.JOB_ID: job.job_id,
            renv.GENERATION: str(job.generation),
            renv.JOB_DIR: job.job_dir,
            renv.CHECKPOINT_DIR: job.checkpoint_dir,
            renv.METRIC: job.metric,
            renv.HINTS_URL: job.hints_url,
            "PYTHONUNBUFFERED": "1",
        }
        if job.token:
            env[renv.TOKEN] = job.token
        if job.threads is not None:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(job.threads)
        out.append(env)
    return out
