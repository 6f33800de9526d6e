"""`adaptsched profile`: measure a training job on this machine and write a simulator profile.

    adaptsched profile --job mnist --out profiles/mnist

Writes ``placements.csv`` (step and sync time per replica count and local batch; placement
"2" is one node with 2 replicas), ``validation-<M>.csv`` (per statistical epoch at total batch
M: progress in iterations at M0, test accuracy, grad_sqr, grad_var at M0) and ``profile.json``
(the job's constants plus where, when and how it was measured). Format:
docs/profile-format.md. torch loads only when the command runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job", default="mnist", help="job to profile (registered name)")
    parser.add_argument("--out", required=True, help="profile folder to write")
    parser.add_argument("--data", default=None, help="dataset directory (job-specific)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--local-bsz", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per placement row")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--epochs", type=int, default=3, help="statistical epochs per batch")
    parser.add_argument("--val-replicas", type=int, default=2, help="processes per batch run")
    parser.add_argument("--train-samples", type=int, default=15000, help="0: all")
    parser.add_argument("--test-samples", type=int, default=10000, help="0: all")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _portable_command(argv: list[str]) -> str:
    """The command line as run, with absolute paths cut to their last part: the metadata says
    how the profile was measured without naming the measuring machine's directories."""
    parts = [Path(a).name if os.path.isabs(a) else a for a in argv]
    return "adaptsched " + shlex.join(parts)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def run(args: argparse.Namespace) -> int:
    import torch

    from adaptsched.train.profiling import (
        RunOptions,
        get_profile_job,
        measure_placements,
        measure_validation,
    )

    job = get_profile_job(args.job)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    opts = RunOptions(args.job, args.data, args.train_samples, args.test_samples, args.threads)
    start_s = time.monotonic()
    load_before = os.getloadavg()
    placement_rows = []
    for replicas in args.replicas:
        for row in measure_placements(opts, replicas, args.local_bsz, args.steps):
            placement_rows.append(
                [str(replicas), row["local_bsz"], row["step_time"], row["sync_time"]]
            )
            log.info(
                "placement %d, local batch %d: %.4f s/step",
                replicas,
                row["local_bsz"],
                row["step_time"],
            )
    _write_csv(
        out / "placements.csv", ["placement", "local_bsz", "step_time", "sync_time"], placement_rows
    )
    for batch in args.batches:
        rows = measure_validation(opts, args.val_replicas, batch, args.epochs)
        keys = ["progress", "iteration", "metric", "grad_sqr", "grad_var"]
        _write_csv(out / f"validation-{batch}.csv", keys, [[r[k] for k in keys] for r in rows])
        log.info("batch %d: accuracy %s", batch, [round(r["metric"], 4) for r in rows])
    train_len = len(job.datasets(args.data)[0])
    epoch_samples = min(args.train_samples or train_len, train_len)
    meta = {
        "epochs": max(1, round(job.epochs * train_len / epoch_samples)),
        "init_batch": job.init_batch,
        "max_batch": job.max_batch,
        "min_local": job.min_local,
        "max_local": job.max_local,
        "job": job.name,
        "epoch_samples": epoch_samples,
        "dataset_samples": train_len,
        "note": (
            f"an epoch here is {epoch_samples} training samples; 'epochs' is the real job's "
            f"{job.epochs} epochs of {train_len} samples expressed in those units"
        ),
        "measured": {
            "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": _portable_command(sys.argv[1:]),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "backend": "gloo",
            "threads_per_process": args.threads,
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "wall_s": round(time.monotonic() - start_s, 1),
            "replicas": args.replicas,
            "local_bsz": args.local_bsz,
            "steps_per_row": args.steps,
            "validation_batches": args.batches,
            "validation_replicas": args.val_replicas,
            "validation_epochs": args.epochs,
            "test_samples": args.test_samples,
        },
    }
    (out / "profile.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"profile written to {out} in {meta['measured']['wall_s']} s")
    return 0
