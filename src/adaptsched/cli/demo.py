"""`adaptsched demo` (what `make demo` runs): the real system on this machine. It starts the
runtime on an emulated cluster of two one-GPU nodes, submits a scaled-down version of the seed
thesis's five MNIST jobs (the thesis's epochs and initial batches, a subset of the training
data, accuracy on the full test set), shows them live while the scheduler resizes them, prints
each job's completion time, restarts and test accuracy, and stops the runtime.
`adaptsched demo-sim` is the model-and-simulator tour that needs no runtime."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from adaptsched.cli.args import bounded
from adaptsched.cli.remote import jobs_table

FINISHED = ("succeeded", "failed", "cancelled")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train-samples",
        type=bounded(int, 64, 60000),
        default=768,
        help="training samples per epoch (768 of MNIST's 60000: about 5 minutes on 2 cores)",
    )
    parser.add_argument(
        "--metric", default="goodput", help="every job's metric: goodput, speed, cost, balanced"
    )
    parser.add_argument("--interval", type=bounded(float, 1.0, 600.0), default=10.0)
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="keep the runtime's state here (default: temp)"
    )
    parser.add_argument("--timeout", type=bounded(float, 60.0, 7200.0), default=1800.0)


def run(args: argparse.Namespace) -> int:
    from adaptsched.cli.main import main as cli
    from adaptsched.models import get_metric

    get_metric(args.metric)
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="adaptsched-demo-"))
    console = Console(width=None if Console().is_terminal else 120)
    console.print(f"starting the runtime: 2 emulated one-GPU nodes, state in {state_dir}")
    up = ["up", "--state-dir", str(state_dir), "--emulate-nodes", "2"]
    up += ["--interval", str(args.interval), "--restart-cost", "10", "--stop-timeout", "30"]
    if cli(up) != 0:
        return 1
    try:
        return _demo(args, state_dir, console)
    finally:
        cli(["down", "--state-dir", str(state_dir)])


def _demo(args: argparse.Namespace, state_dir: Path, console: Console) -> int:
    from adaptsched.client import Client
    from adaptsched.experiments.thesis_real import submit_thesis_jobs

    client = Client.connect(state_dir)
    ids = submit_thesis_jobs(client, args.train_samples, args.metric)
    console.print(
        f"submitted the thesis's 5 MNIST jobs ({args.train_samples} samples per epoch, "
        f"metric {args.metric}): {', '.join(ids)}"
    )
    start = time.monotonic()
    jobs: list[dict[str, Any]] = []
    with Live(console=console, refresh_per_second=1) as live:
        while time.monotonic() - start < args.timeout:
            jobs = client.jobs()
            cluster = client.cluster()
            live.update(_screen(jobs, cluster, time.monotonic() - start))
            if all(j["state"] in FINISHED for j in jobs):
                break
            time.sleep(2.0)
    console.print(_results(jobs, state_dir))
    cluster = client.cluster()
    done = [j for j in jobs if j["state"] == "succeeded"]
    jcts = [j["finished_s"] - j["submitted_s"] for j in done]
    mean = sum(jcts) / len(jcts) if jcts else float("nan")
    console.print(
        f"mean JCT {mean:.0f} s over {len(done)}/{len(jobs)} jobs; "
        f"restarts {sum(j['restarts'] for j in jobs)}; node-seconds {cluster['node_seconds']:.0f}"
    )
    return 0 if len(done) == len(jobs) else 1


def _screen(jobs: list[dict[str, Any]], cluster: dict[str, Any], elapsed_s: float) -> Group:
    line = Text(
        f"{elapsed_s:5.0f} s   nodes {cluster['nodes']}   slots in use "
        f"{cluster['slots_in_use']}/{cluster['slots']}   rounds {cluster['rounds']}"
    )
    return Group(line, jobs_table(jobs))


def _results(jobs: list[dict[str, Any]], state_dir: Path) -> Table:
    table = Table(title="results", box=None, pad_edge=False)
    for column in ("JOB", "STATE", "JCT (s)", "RESTARTS", "TEST ACCURACY"):
        table.add_column(column)
    for job in jobs:
        jct = job["finished_s"] - job["submitted_s"] if job["finished_s"] else None
        table.add_row(
            job["name"],
            job["state"],
            "-" if jct is None else f"{jct:.0f}",
            str(job["restarts"]),
            _accuracy(state_dir / "jobs" / job["id"] / "summary.json"),
        )
    return table


def _accuracy(path: Path) -> str:
    try:
        return f"{100 * json.loads(path.read_text())['test_accuracy']:.2f} %"
    except (OSError, ValueError, KeyError):
        return "-"
