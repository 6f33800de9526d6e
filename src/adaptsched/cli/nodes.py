"""`adaptsched nodes`: every node the cluster had, its slots in use, its lifetime and
node-hours (what a cloud bills), with the total."""

from __future__ import annotations

import argparse
import time

from rich.table import Table

from adaptsched.cli.remote import add_state_dir, connect, print_json, show


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--remove",
        metavar="NODE",
        default=None,
        help="take this emulated node away abruptly (what losing a machine looks like)",
    )


def _clock(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%H:%M:%S", time.localtime(stamp))


def run(args: argparse.Namespace) -> int:
    client = connect(args)
    if args.remove is not None:
        client.remove_node(args.remove)
        print(f"removed {args.remove}")
        return 0
    nodes = client.nodes()
    if args.json:
        print_json(nodes)
        return 0
    table = Table(box=None, pad_edge=False)
    for column in ("NODE", "SLOTS", "USED", "STATE", "JOINED", "LEFT", "NODE-HOURS"):
        table.add_column(column, justify="right" if column == "NODE-HOURS" else "left")
    for node in nodes:
        table.add_row(
            node["id"],
            str(node["slots"]),
            str(node["used"]),
            "up" if node["alive"] else "gone",
            _clock(node["joined_s"]),
            _clock(node["left_s"]),
            f"{node['node_hours']:.4f}",
        )
    show(table)
    print(f"total node-hours {sum(n['node_hours'] for n in nodes):.4f}")
    return 0
