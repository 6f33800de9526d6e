"""The runtime's cost on a training step: the same job at the same fixed size (2 replicas of the
thesis's MNIST CNN, gloo, one node, batch 64 per replica, checkpoints at epoch ends) under
adaptsched (Ray actors on an emulated node with 2 slots) and under plain torchrun, alternated
in one run (torchrun, adaptsched, torchrun, adaptsched, ...); steady-state step time is the
median step after a warm-up.

    .venv/bin/python benchmarks/runtime_overhead.py --json
prints {"step_time_ratio": adaptsched / torchrun, "adaptsched_step_s": .., "torchrun_step_s": ..,
        "rounds": [...]}
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
JOB = HERE / "jobs" / "step_timer.py"


def step_time(path: Path, warmup: int) -> float:
    stamps = [float(x) for x in path.read_text().split()]
    gaps = [b - a for a, b in itertools.pairwise(stamps)][warmup:]
    if len(gaps) < 10:
        raise RuntimeError(f"{path}: only {len(gaps)} steps after warm-up")
    return statistics.median(gaps)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_torchrun(work: Path, steps: int) -> Path:
    out = work / f"torchrun-{time.monotonic_ns()}.txt"
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    argv += ["--master-port", str(free_port()), str(JOB), "--steps", str(steps), "--out", str(out)]
    argv += ["--checkpoint-dir", str(work / f"ckpt-{time.monotonic_ns()}")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(argv, check=True, env=env, capture_output=True, timeout=900)
    return out


class Runtime:
    def __init__(self, state_dir: Path) -> None:
        self.env = {**os.environ, "ADAPTSCHED_STATE_DIR": str(state_dir)}
        self.state_dir = state_dir

    def cli(self, *args: str) -> str:
        argv = [sys.executable, "-m", "adaptsched.cli.main", *args]
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"adaptsched {args[0]}: {proc.stderr.strip()}")
        return proc.stdout

    def run_job(self, steps: int) -> Path:
        from adaptsched.client import Client

        client = Client.connect(self.state_dir)
        command = [str(JOB), "--steps", str(steps)]
        job = client.submit(command, min_replicas=2, max_replicas=2)["id"]
        while True:  # polled in this process, rarely: a CLI per poll would compete for CPU
            state = client.job(job)["state"]
            if state in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(5.0)
        if state != "succeeded":
            raise RuntimeError(f"job {job} {state}")
        return self.state_dir / "jobs" / job / "steps.txt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="adaptsched-overhead-"))
    runtime = Runtime(work / "state")
    runtime.cli("up", "--emulate-nodes", "1", "--gpus-per-node", "2", "--interval", "5")
    rounds = []
    try:
        for _ in range(args.rounds):
            plain = step_time(run_torchrun(work, args.steps), args.warmup)
            ours = step_time(runtime.run_job(args.steps), args.warmup)
            rounds.append({"torchrun_step_s": plain, "adaptsched_step_s": ours})
    finally:
        runtime.cli("down")
    plain = statistics.median(r["torchrun_step_s"] for r in rounds)
    ours = statistics.median(r["adaptsched_step_s"] for r in rounds)
    report = {
        "step_time_ratio": ours / plain,
        "adaptsched_step_s": ours,
        "torchrun_step_s": plain,
        "rounds": rounds,
        "steps": args.steps,
        "warmup": args.warmup,
        "replicas": 2,
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
