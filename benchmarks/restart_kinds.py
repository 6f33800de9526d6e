"""Why a policy restarts jobs: every relaunch in the 8 Pollux workloads, classified by how the
job's placement changed (more replicas, fewer, or the same count moved), from the
controller's generation events. Prints one JSON object.

    .venv/bin/python benchmarks/restart_kinds.py --traces ../shared/pollux-traces \
        --policy pollux-milp --json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from adaptsched.control.hooks import ControlHooks, GenerationEvent
from adaptsched.policy.registry import make_policy, policy_names
from adaptsched.sim.paths import profiles_dir, traces_root
from adaptsched.sim.runner import load_truths, run_workload_file
from adaptsched.stdout_guard import stdout_to_stderr


class RelaunchKinds(ControlHooks):
    """Counts each job's relaunches by the change from its previous placement."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[str, ...]] = {}
        self.kinds: Counter[str] = Counter()

    def on_generation(self, event: GenerationEvent) -> None:
        if event.kind != "launch":
            return
        before = self.last.get(event.job_id)
        self.last[event.job_id] = event.placement
        if before is None:
            return
        if len(event.placement) != len(before):
            self.kinds["grow" if len(event.placement) > len(before) else "shrink"] += 1
        else:
            self.kinds["same" if Counter(before) == Counter(event.placement) else "moved"] += 1


def _run_one(task: tuple[str, str, str]) -> tuple[str, dict[str, int], int, int]:
    workload, profiles, policy = task
    hooks = RelaunchKinds()
    result = run_workload_file(
        workload, load_truths(profiles), make_policy(policy, seed=0), None, [hooks]
    )
    restarts = sum(j.restarts for j in result.jobs)
    return Path(workload).stem, dict(hooks.kinds), restarts, len(result.jobs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=traces_root(), help="reference data root")
    parser.add_argument("--policy", default="pollux-milp", choices=policy_names())
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    root = args.traces if (args.traces / "workloads").is_dir() else args.traces.parent
    workloads = sorted((root / "workloads").glob("workload-*.csv"))
    tasks = [(str(w), str(profiles_dir(args.traces)), args.policy) for w in workloads]
    total: Counter[str] = Counter()
    per_workload, restarts, jobs = {}, 0, 0
    with stdout_to_stderr(), ProcessPoolExecutor(args.workers) as pool:
        for name, kinds, count, size in pool.map(_run_one, tasks):
            per_workload[name] = kinds
            total.update(kinds)
            restarts, jobs = restarts + count, jobs + size
    result = {
        "policy": args.policy,
        "relaunches": dict(total),
        "restarts_per_job": round(restarts / jobs, 3) if jobs else None,
        "workloads": per_workload,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
