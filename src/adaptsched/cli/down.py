"""`adaptsched down`: stop the controller that `up` started for this state directory (its jobs
checkpoint first, and resume at the next `up`), and only that."""

from __future__ import annotations

import argparse

from adaptsched.cli.args import bounded
from adaptsched.cli.remote import add_state_dir
from adaptsched.cluster.process import default_state_dir, stop_controller


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument(
        "--timeout",
        type=bounded(float, 1.0, 3600.0),
        default=120.0,
        help="seconds to wait for a clean stop before killing it (120)",
    )


def run(args: argparse.Namespace) -> int:
    state_dir = (args.state_dir or default_state_dir()).expanduser().resolve()
    info = stop_controller(state_dir, args.timeout)
    if info is None:
        print(f"no controller runs for {state_dir}")
        return 0
    print(f"stopped the controller at {info.url} (pid {info.pid})")
    return 0
