"""`adaptsched cancel JOB`: cancel a job (its processes are stopped first)."""

from __future__ import annotations

import argparse

from adaptsched.cli.remote import add_state_dir, connect


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("job", help="job id")


def run(args: argparse.Namespace) -> int:
    job = connect(args).cancel(args.job)
    print(f"{job['id']}: {job['state']}")
    return 0
