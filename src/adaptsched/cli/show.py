"""`adaptsched show JOB`: one job in detail: its state and why, placement, batch, progress,
restarts and their causes, and the last lines of its log."""

from __future__ import annotations

import argparse
import time
from typing import Any

from adaptsched.cli.remote import add_state_dir, age, batch_text, connect, print_json, progress_text

#: Log lines shown for a job that failed or is running.
TAIL_LINES = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("job", help="job id")
    parser.add_argument("--json", action="store_true", help="the job object as JSON")


def run(args: argparse.Namespace) -> int:
    client = connect(args)
    job = client.job(args.job)
    if args.json:
        print_json(job)
        return 0
    for line in _summary(job):
        print(line)
    if job["generation"] > 0:
        text = client.logs(args.job)["text"]
        tail = [line for line in text.splitlines() if line.strip()][-TAIL_LINES:]
        print(f"log (rank 0, generation {job['generation']}, last {len(tail)} lines):")
        for line in tail:
            print(f"  {line}")
    return 0


def _summary(job: dict[str, Any]) -> list[str]:
    state = job["state"] + (f" ({job['reason']})" if job["reason"] else "")
    model = job.get("model") or {}
    lines = [
        f"job       {job['id']}  ({job['name']})",
        f"state     {state}",
        f"command   {' '.join(job['command'])}",
        f"metric    {job['metric']}",
        f"replicas  {job['replicas']} on {', '.join(job['nodes']) or '-'}"
        f"  (limits {job['min_replicas']}..{job['max_replicas']})",
        f"batch     {batch_text(job)}   progress {progress_text(job)}   epoch {job['epoch']}",
        f"starts    {job['generation']}  restarts {job['restarts']}  failures "
        f"{job['failures']}/{job['max_failures']}  interruptions {job['interruptions']}",
        f"age       {age(job['age_s'])}   GPU-seconds {job['attained_gpu_s']:.0f}",
    ]
    if model:
        lines.append(
            f"model     throughput {model['throughput']:.1f}/s  efficiency "
            f"{model['efficiency']:.3f}  goodput {model['goodput']:.1f}/s"
            + ("" if model["fitted"] else "  (prior: not yet fitted)")
        )
    changes = [e for e in job.get("events", []) if e.get("new")]
    if changes:
        lines.append("history:")
        for event in changes:
            stamp = time.strftime("%H:%M:%S", time.localtime(event["time_s"]))
            why = f"  {event['detail']}" if event["detail"] else ""
            lines.append(f"  {stamp}  {event['old']} -> {event['new']}{why}")
    return lines
