"""Autoscaling on the emulated autoscaling cluster (Ray's fake multi-node provider, 1 to 3
one-GPU nodes, starting at 1), with one job that scales: seconds from the policy's decision to
grow until a replica runs on the new node (``grow_s``: Ray's autoscaler starts a node, it
joins, the job restarts on it), seconds from the job's end until the cluster is back at its
minimum (``shrink_s``: the idle timeout, then Ray's autoscaler removes the node), and the
node-seconds the controller recorded over Ray's own record of the same nodes' lives
(``node_seconds_ratio``).

    .venv/bin/python benchmarks/runtime_autoscale.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
JOB = HERE.parent / "tests" / "runtime" / "jobs" / "tiny_job.py"


def cli(state_dir: Path, *args: str) -> str:
    env = {**os.environ, "ADAPTSCHED_STATE_DIR": str(state_dir)}
    argv = [sys.executable, "-m", "adaptsched.cli.main", *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"adaptsched {args[0]}: {proc.stderr.strip()}")
    return proc.stdout


def wait(what: str, ready, timeout_s: float = 300.0, poll_s: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        time.sleep(poll_s)
    raise TimeoutError(what)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle-timeout", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from adaptsched.client import Client

    state = Path(tempfile.mkdtemp(prefix="adaptsched-autoscale-"))
    cli(state, "up", "--autoscale", "--min-nodes", "1", "--max-nodes", "3", "--interval", "3",
        "--idle-timeout", str(args.idle_timeout), "--restart-cost", "3")  # fmt: skip
    try:
        client = Client.connect(state)

        def alive() -> list[dict]:
            return [n for n in client.nodes() if n["alive"]]

        wait("the first node", lambda: len(alive()) == 1)
        command = [str(JOB), "--epochs", "40", "--step-sleep", "0.05"]
        job = client.submit(command, name="scaler")["id"]
        done = wait("the job's end", lambda: (j := client.job(job))["finished_s"] and j, 600)
        back_s = wait("the minimum", lambda: len(alive()) == 1 and time.time(), 300, 0.25)
        nodes = client.nodes()
    finally:
        cli(state, "down")
    with sqlite3.connect(state / "state.db") as db:
        rounds = db.execute("SELECT time_s, desired_nodes FROM rounds ORDER BY seq").fetchall()
        launches = db.execute("SELECT placement, launched_s FROM generations").fetchall()
    first = {n["id"]: n["joined_s"] for n in nodes}
    grow_at = next(t for t, desired in rounds if desired and desired > 1)
    added = {n for n, joined in first.items() if joined > grow_at}
    grew = min(t for p, t in launches if added & set(json.loads(p)))
    now = max(n["left_s"] or 0 for n in nodes)
    ours = sum((n["left_s"] or now) - n["joined_s"] for n in nodes)
    rays = sum((n["ray_end_s"] or now) - n["ray_start_s"] for n in nodes)
    report = {
        "grow_s": round(grew - grow_at, 3),
        "shrink_s": round(back_s - done["finished_s"], 3),
        "node_seconds_ratio": round(ours / rays, 4),
        "node_seconds": round(ours, 3),
        "ray_node_seconds": round(rays, 3),
        "nodes": len(nodes),
        "job_restarts": done["restarts"],
        "idle_timeout_s": args.idle_timeout,
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
