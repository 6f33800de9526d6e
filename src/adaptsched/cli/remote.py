"""What the commands that talk to a running controller share: finding it, and showing jobs
(rich renders the tables: aligned columns, colour when the output is a terminal)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from adaptsched.client import Client
from adaptsched.cluster.process import STATE_DIR_ENV, default_state_dir


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"the controller's state directory (${STATE_DIR_ENV}, else {default_state_dir()})",
    )


def connect(args: argparse.Namespace) -> Client:
    return Client.connect(args.state_dir)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=1, sort_keys=True))


def age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def batch_text(job: dict[str, Any]) -> str:
    """``local x replicas = total``, with ``x micro-steps`` before ``=`` when the job
    accumulates gradients (the configuration of its latest report)."""
    batch = job.get("batch")
    if not batch:
        return "-"
    text = f"{batch['local_bsz']}x{batch.get('replicas', 1)}"
    if batch["accum_steps"]:
        text += f"x{batch['accum_steps'] + 1}"
    return f"{text} = {batch['total']}"


def progress_text(job: dict[str, Any]) -> str:
    share = job.get("progress")
    return "-" if share is None else f"{100 * share:.0f}%"


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "NAME", "STATE", "REPLICAS", "NODES", "BATCH", "PROGRESS"):
        table.add_column(column)
    for column in ("RESTARTS", "METRIC", "AGE"):
        table.add_column(column, justify="right" if column != "METRIC" else "left")
    for job in jobs:
        table.add_row(
            job["id"],
            job["name"],
            job["state"],
            str(job["replicas"]),
            ",".join(job["nodes"]) or "-",
            batch_text(job),
            progress_text(job),
            str(job["restarts"]),
            job["metric"],
            age(job["age_s"]),
        )
    return table


def show(renderable: Any) -> None:
    Console(width=200).print(renderable)


def since(start_s: float | None) -> float | None:
    return None if start_s is None else time.time() - start_s
