"""A small synthetic application profile and workload written into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

#: Local batches measured for every placement.
LOCAL = (8, 16, 32)
PLACEMENTS = ("1", "2", "4", "11", "22", "44", "444", "4444")
EPOCHS = 4
INIT_BATCH = 8


def step_sync(counts: str, local: int) -> tuple[float, float]:
    """Synthetic truth: compute 10 ms + 1 ms/sample; sync 0 / 5 ms / 20 ms + 1 ms/replica."""
    replicas = sum(int(c) for c in counts)
    if replicas == 1:
        sync = 0.0
    elif len(counts) == 1:
        sync = 0.005 + 0.001 * replicas
    else:
        sync = 0.02 + 0.001 * replicas
    return 0.01 + 0.001 * local + sync, sync


def write_profile(
    root: Path, name: str = "toy", scalability: bool = True, epochs: int = EPOCHS
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "profile.json").write_text(
        json.dumps(
            {
                "epochs": epochs,
                "init_batch": INIT_BATCH,
                "max_batch": 256,
                "min_local": 8,
                "max_local": 32,
            }
        )
    )
    rows = ["placement,local_bsz,step_time,sync_time"]
    for placement in PLACEMENTS:
        for local in LOCAL:
            step, sync = step_sync(placement, local)
            rows.append(f"{placement},{local},{step},{sync}")
    (folder / "placements.csv").write_text("\n".join(rows) + "\n")
    if scalability:
        rows = ["num_nodes,num_replicas,local_bsz,step_time,sync_time"]
        for nodes in (6, 8):
            for local in LOCAL:
                step, sync = step_sync("4" * nodes, local)
                rows.append(f"{nodes},{4 * nodes},{local},{step},{sync}")
        (folder / "scalability.csv").write_text("\n".join(rows) + "\n")
    for batch, (sqr, var, quality) in {8: (1.0, 4.0, 0.4), 64: (1.0, 6.0, 0.3)}.items():
        rows = ["progress,iteration,metric,grad_sqr,grad_var"]
        for epoch in range(1, epochs + 1):
            metric = quality + 0.05 * epoch  # validation metric: rises with progress
            rows.append(f"{200.0 * epoch},{200.0 * epoch * 8 / batch},{metric},{sqr},{var * epoch}")
        (folder / f"validation-{batch}.csv").write_text("\n".join(rows) + "\n")
    return folder


def write_workload(path: Path, jobs: list[tuple[str, float, int, int]], app: str = "toy") -> Path:
    """``jobs``: (name, submit second, replicas, batch)."""
    rows = ["name,time,application,num_replicas,batch_size"]
    rows += [f"{name},{t},{app},{k},{b}" for name, t, k, b in jobs]
    path.write_text("\n".join(rows) + "\n")
    return path


def mixed_jobs(count: int = 10) -> list[tuple[str, float, int, int]]:
    sizes = [(1, 8), (2, 16), (4, 32), (8, 64), (6, 48)]
    return [(f"job-{i}", 37.0 * i, *sizes[i % len(sizes)]) for i in range(count)]
