"""A simulator profile from what a job reported while the runtime ran it: the step times its
trainer measured (the throughput observations in its hints) and its gradient statistics per
epoch, so that a user can simulate their own workload from their own past runs
(``adaptsched export-profile``; format: docs/profile-format.md)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adaptsched.cluster.store import StateStore
from adaptsched.sim.profile import write_placements


class ExportError(ValueError):
    """The job has not reported what a profile needs."""


def placement_of(nodes: int, replicas: int) -> str:
    """The placement digits of ``replicas`` spread as evenly as the runtime spreads them."""
    base, extra = divmod(replicas, nodes)
    counts = [base + (i < extra) for i in range(nodes)]
    if not all(1 <= c <= 9 for c in counts):
        raise ExportError(f"{replicas} replicas on {nodes} nodes: not a profile placement")
    return "".join(map(str, counts))


def export_profile(store: StateStore, job_id: str, out: Path) -> dict[str, Any]:
    """Write ``placements.csv``, ``validation-<M0>.csv`` and ``profile.json`` for one job into
    ``out`` (created); returns what ``profile.json`` holds."""
    history = list(store.hints_history(job_id))
    if not history:
        raise ExportError(f"job {job_id}: no hints recorded (it never trained)")
    last = history[-1][2]
    rows = last["observations"]
    if not rows:
        raise ExportError(f"job {job_id}: no step times recorded yet")
    per_epoch: dict[int, dict[str, Any]] = {}
    for _, _, hints in history:
        if hints["grad_sqr"] is not None and hints["grad_var"] is not None:
            per_epoch[int(hints["epoch"])] = hints  # the epoch's last report
    if not per_epoch:
        raise ExportError(f"job {job_id}: no gradient statistics recorded yet")
    out.mkdir(parents=True, exist_ok=True)
    write_placements(
        out / "placements.csv",
        (
            (
                placement_of(int(row["nodes"]), int(row["replicas"])),
                int(row["local_bsz"]),
                float(row["step_time"]),
                float(row["sync_time"]),
            )
            for row in rows
        ),
    )
    init_batch = int(last["init_batch"])
    with open(out / f"validation-{init_batch}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["progress", "iteration", "metric", "grad_sqr", "grad_var"])
        for _, hints in sorted(per_epoch.items()):
            progress = float(hints["progress"])
            writer.writerow([progress, progress, 0.0, hints["grad_sqr"], hints["grad_var"]])
    meta = {
        "epochs": max(per_epoch) + 1,
        "init_batch": init_batch,
        "max_batch": int(last["max_batch"]),
        "min_local": int(last["min_local_bsz"]),
        "max_local": int(last["max_local_bsz"] or max(int(r["local_bsz"]) for r in rows)),
        "note": "exported from a run on the adaptsched runtime: step times as the job's "
        "trainer measured them, gradient statistics at the end of each epoch; the metric "
        "column is 0 (the runtime does not see the job's validation metric)",
        "exported": {"job": job_id, "date_utc": datetime.now(UTC).isoformat(timespec="seconds")},
    }
    (out / "profile.json").write_text(json.dumps(meta, indent=1))
    return meta
