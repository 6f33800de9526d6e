"""`adaptsched submit SCRIPT [options] [-- ARGS...]`: hand a training script to the controller;
prints the job id."""

from __future__ import annotations

import argparse
from pathlib import Path

from adaptsched.cli.args import OneLineParser, bounded
from adaptsched.cli.remote import add_state_dir, connect, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_options(parser)
    parser.add_argument("script", type=Path, help="the training script (run with Python)")
    parser.add_argument(
        "rest", nargs=argparse.REMAINDER, help="options, then -- and the script's arguments"
    )


def _add_options(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("--name", default=None, help="a name to show (default: the script's)")
    parser.add_argument("--metric", default="goodput", help="goodput, speed, cost, balanced[:K]")
    parser.add_argument("--min-replicas", type=bounded(int, 0, 4096), default=0)
    parser.add_argument("--max-replicas", type=bounded(int, 1, 4096), default=64)
    parser.add_argument(
        "--max-failures", type=bounded(int, 0, 1000), default=3, help="crashes retried (3)"
    )
    parser.add_argument(
        "--non-preemptible",
        action="store_true",
        help="once started, never stopped or resized by the scheduler",
    )
    parser.add_argument("--json", action="store_true", help="print the job as JSON")


def _split(args: argparse.Namespace) -> list[str]:
    """Options may follow SCRIPT (``submit train.py --metric speed -- --epochs 3``): parse
    what comes before ``--`` as this command's options; what follows goes to the script."""
    rest = list(args.rest)
    cut = rest.index("--") if "--" in rest else len(rest)
    options, script_args = rest[:cut], rest[cut + 1 :]
    if options:
        late = OneLineParser(prog="adaptsched submit", add_help=False)
        _add_options(late)
        late.parse_args(options, namespace=args)
    return script_args


def run(args: argparse.Namespace) -> int:
    from adaptsched.models import get_metric

    extra = _split(args)
    script = args.script.expanduser()
    if not script.is_file():
        raise ValueError(f"script {str(script)!r}: no such file")
    get_metric(args.metric)  # a clear error before anything is sent
    if args.min_replicas > args.max_replicas:
        raise ValueError(
            f"--min-replicas {args.min_replicas} is above --max-replicas {args.max_replicas}"
        )
    job = connect(args).submit(
        [str(script.resolve()), *extra],
        name=args.name,
        metric=args.metric,
        min_replicas=args.min_replicas,
        max_replicas=args.max_replicas,
        max_failures=args.max_failures,
        preemptible=not args.non_preemptible,
    )
    if args.json:
        print_json(job)
    else:
        print(job["id"])
    return 0
