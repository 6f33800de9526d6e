"""`adaptsched logs JOB [--rank R] [--generation G] [--follow]`: a replica's output."""

from __future__ import annotations

import argparse
import sys
import time

from adaptsched.cli.args import bounded
from adaptsched.cli.remote import add_state_dir, connect

FINISHED = {"succeeded", "failed", "cancelled"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("job", help="job id")
    parser.add_argument("--rank", type=bounded(int, 0, 4095), default=0)
    parser.add_argument(
        "--generation", type=bounded(int, 1), default=None, help="default: the latest"
    )
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new output")
    parser.add_argument(
        "--poll", type=bounded(float, 0.1, 60.0), default=1.0, help="seconds between polls"
    )


def run(args: argparse.Namespace) -> int:
    client = connect(args)
    offset, generation = 0, args.generation
    while True:
        chunk = client.logs(args.job, args.rank, generation, offset)
        if chunk["generation"] != generation and generation is not None and args.generation is None:
            offset = 0  # a new generation started: follow it from its start
        sys.stdout.write(chunk["text"])
        sys.stdout.flush()
        offset, generation = chunk["offset"], chunk["generation"]
        if not args.follow:
            return 0
        state = client.job(args.job)
        if state["state"] in FINISHED and not chunk["text"]:
            return 0
        if args.generation is None and state["generation"] != generation:
            generation, offset = state["generation"], 0
            sys.stdout.write(f"--- generation {generation} ---\n")
        time.sleep(args.poll)
