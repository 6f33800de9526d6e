"""`adaptsched nodes`: the cluster's nodes, their slots in use and their lifetimes."""

from __future__ import annotations

import argparse

from rich.table import Table

from adaptsched.cli.remote import add_state_dir, age, connect, print_json, show


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    nodes = connect(args).nodes()
    if args.json:
        print_json(nodes)
        return 0
    table = Table(box=None, pad_edge=False)
    for column in ("NODE", "SLOTS", "USED", "READY", "UP"):
        table.add_column(column)
    for node in nodes:
        table.add_row(
            node["id"],
            str(node["slots"]),
            str(node["used"]),
            "yes" if node["ready"] else "no",
            age(node["node_seconds"]),
        )
    show(table)
    return 0
