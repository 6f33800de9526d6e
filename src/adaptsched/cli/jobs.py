"""`adaptsched jobs`: every job in a table (state, replicas and nodes, batch, progress,
restarts, metric, age), or as JSON."""

from __future__ import annotations

import argparse

from adaptsched.cli.remote import add_state_dir, connect, jobs_table, print_json, show


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true", help="job objects as JSON")


def run(args: argparse.Namespace) -> int:
    jobs = connect(args).jobs()
    if args.json:
        print_json(jobs)
    elif not jobs:
        print("no jobs")
    else:
        show(jobs_table(jobs))
    return 0
