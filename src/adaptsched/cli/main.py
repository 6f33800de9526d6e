"""Entry point of the `adaptsched` command.

Subcommands live in their own modules and register through ``SUBCOMMANDS``: each entry maps a
name to a module exposing ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from adaptsched import __version__
from adaptsched.cli.args import EXIT_USAGE, OneLineParser

#: name -> (module path, one-line help). Modules are imported lazily so that `--help` stays fast
#: and a subcommand's heavy dependencies (torch) load only when it runs.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "adaptsched.cli.demo",
        "the real thing: 5 MNIST jobs scheduled on an emulated 2-node runtime (~5 min)",
    ),
    "demo-sim": (
        "adaptsched.cli.demo_sim",
        "the performance model and the simulated thesis experiment, no runtime (~1 min)",
    ),
    "sim": ("adaptsched.cli.sim", "simulate workload traces under a scheduling policy"),
    "profile": (
        "adaptsched.cli.profile",
        "measure a training job on this machine and write a simulator profile",
    ),
    "experiment": (
        "adaptsched.cli.experiment",
        "run a named experiment in the simulator (thesis: the seed thesis's, with its numbers)",
    ),
    "up": ("adaptsched.cli.up", "start the controller (a local Ray runtime by default)"),
    "down": ("adaptsched.cli.down", "stop the controller `up` started"),
    "submit": ("adaptsched.cli.submit", "submit a training script; prints its job id"),
    "jobs": ("adaptsched.cli.jobs", "list the jobs"),
    "show": ("adaptsched.cli.show", "one job in detail, with its history and log tail"),
    "logs": ("adaptsched.cli.logs", "a job's output (one replica)"),
    "cancel": ("adaptsched.cli.cancel", "cancel a job"),
    "nodes": ("adaptsched.cli.nodes", "the cluster's nodes"),
    "export-profile": (
        "adaptsched.cli.export_profile",
        "a simulator profile from a job the runtime ran (its step times and gradient stats)",
    ),
    "dashboard": (
        "adaptsched.cli.dashboard",
        "the dashboard over a simulation's output (`sim --out DIR`); a controller serves its own",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported to add its arguments (all of them
    when ``command`` is None), so that a short command starts fast."""
    parser = OneLineParser(
        prog="adaptsched",
        description="Adaptive, metric-driven scheduler for distributed deep-learning training.",
    )
    parser.add_argument("--version", action="version", version=f"adaptsched {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_path, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if command is None or command == name:
            module = importlib.import_module(module_path)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_module=module)
    return parser


def parse(given: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser for the command in ``given`` and the parsed arguments."""
    command = next((a for a in given if not a.startswith("-")), None)
    parser = build_parser(command if command in SUBCOMMANDS else None)
    script_args: list[str] | None = None
    if command == "submit" and "--" in given:
        # argparse takes the first "--" as its own end-of-options marker and would then read
        # the script's arguments as ours (`submit train.py -- --epochs 3`): keep them apart.
        cut = given.index("--")
        given, script_args = given[:cut], given[cut + 1 :]
    args = parser.parse_args(given)
    if script_args is not None:
        args.rest = [*args.rest, "--", *script_args]
    return parser, args


def main(argv: Sequence[str] | None = None) -> int:
    parser, args = parse(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args._module.run(args) or 0)
    except (ValueError, OSError) as exc:
        # Bad input (ValueError: every input check raises one naming the input) or a file
        # that cannot be read or written: one line, no traceback.
        print(f"adaptsched {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
