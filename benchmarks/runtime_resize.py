"""Seconds from a resize decision to the first training step at the new size: a cold
generation restart (SIGTERM, checkpoint, exit 75, new Ray actors, Python and torch start,
checkpoint load, first step), the cost Pollux's simulator charges as 30 s and Sia measured at
25-250 s. A policy that flips one job between 1 and 2 replicas drives the real runtime (Ray
on an emulated 2-node cluster, the API for the job's hints) in this process; the decision time
is the job's running -> resizing transition, the first step its first report from the new
generation with progress beyond its checkpoint.

    .venv/bin/python benchmarks/runtime_resize.py --json
prints {"resize_s_median": .., "resize_s": [..], "stop_s": [..], "start_s": [..], ...}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).parent
JOB = HERE.parent / "tests" / "runtime" / "jobs" / "tiny_job.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resizes", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per resize")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from adaptsched.cluster.engine_setup import quiet_ray_environment

    quiet_ray_environment()
    import uvicorn

    from adaptsched.api.app import create_app
    from adaptsched.cluster.daemon import _listen, url_for
    from adaptsched.cluster.service import RuntimeConfig, RuntimeService
    from adaptsched.policy.base import ClusterSnapshot, Decision, Policy

    class Flip(Policy):
        """The one job on the first ``size`` nodes."""

        name: ClassVar[str] = "flip"

        def __init__(self) -> None:
            self.size = 1

        def decide(self, snapshot: ClusterSnapshot) -> Decision:
            nodes = tuple(n.node_id for n in snapshot.nodes)[: self.size]
            return Decision({j.job_id: nodes for j in snapshot.jobs})

    state_dir = Path(tempfile.mkdtemp(prefix="adaptsched-resize-"))
    config = RuntimeConfig(state_dir, emulate_nodes=2, interval_s=3600.0, stop_timeout_s=30.0)
    policy = Flip()
    service = RuntimeService(config, policy=policy)
    sock = _listen("127.0.0.1", 0)
    service.start(url_for("127.0.0.1", sock.getsockname()[1]))
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    rows = []
    try:
        job = service.submit(
            {"command": [str(JOB), "--epochs", "100000", "--step-sleep", "0.05"], "name": "flip"}
        )["id"]
        first_step(service, job, 1, args.timeout)
        for _ in range(args.resizes):
            gen = service.table[job].generation
            policy.size = 3 - policy.size
            service.loop.wake()
            rows.append(measure(service, job, gen + 1, args.timeout))
            print(f"resize to {policy.size}: {rows[-1]}", file=sys.stderr)
    finally:
        server.should_exit = True
        service.stop(grace_s=30.0)
        thread.join(timeout=10)
    resize = [r["resize_s"] for r in rows]
    report = {
        "resize_s_median": statistics.median(resize),
        "resize_s": resize,
        "stop_s": [r["stop_s"] for r in rows],
        "start_s": [r["start_s"] for r in rows],
        "replicas": "1 <-> 2, emulated nodes of one slot",
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=1))
    return 0


def first_step(service, job: str, generation: int, timeout_s: float) -> float:
    """Time of the first report of ``generation`` whose progress moved past its start."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = [(t, h) for t, g, h in service.store.hints_history(job) if g == generation]
        if rows:
            start = rows[0][1]["progress"]
            moved = [t for t, h in rows if h["progress"] > start]
            if moved:
                return moved[0]
        time.sleep(0.2)
    raise TimeoutError(f"generation {generation} of {job} did not step within {timeout_s} s")


def measure(service, job: str, generation: int, timeout_s: float) -> dict[str, float]:
    stepped = first_step(service, job, generation, timeout_s)
    events = service.store.events(job)
    decided = max(e["time_s"] for e in events if e["new"] == "resizing")
    launched = max(e["time_s"] for e in events if e["kind"] == "launch")
    return {
        "resize_s": round(stepped - decided, 3),
        "stop_s": round(launched - decided, 3),
        "start_s": round(stepped - launched, 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
