"""`adaptsched experiment thesis`: the seed thesis's experiment in the simulator, side by side
with the thesis's own numbers (docs/metrics.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adaptsched.cli.args import bounded, output_dir

EXPERIMENTS = ("thesis",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=EXPERIMENTS, help="which experiment")
    parser.add_argument(
        "--seeds", type=bounded(int, 1, 100), default=5, help="policy seeds per arm"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, default=None, help="write report.md, JSON, PNGs")
    parser.add_argument(
        "--profile", type=Path, default=None, help="MNIST profile folder (default: bundled)"
    )
    parser.add_argument(
        "--policy", default=None, help="the policy every arm runs (default: the project's)"
    )
    parser.add_argument(
        "--generations",
        type=bounded(int, 1, 10_000),
        default=100,
        help="GA generations per round (pollux)",
    )


def run(args: argparse.Namespace) -> int:
    from adaptsched.experiments.thesis import ThesisSetup, run_thesis
    from adaptsched.experiments.thesis_report import bar_charts, comparisons, markdown

    if args.out is not None:
        output_dir(args.out, "--out")

    def progress(arm: str, seed: int) -> None:
        sys.stderr.write(f"\r{arm:>13} seed {seed + 1}/{args.seeds}   ")
        sys.stderr.flush()

    from adaptsched.policy.registry import DEFAULT_POLICY, policy_class

    policy = args.policy or DEFAULT_POLICY
    policy_class(policy)  # a clear error for unknown policies
    setup = ThesisSetup(policy=policy, generations=args.generations)
    report = run_thesis(args.seeds, setup, args.profile, progress)
    sys.stderr.write("\n")
    report["comparisons"] = comparisons(report)
    text = markdown(report)
    if args.out is not None:
        (args.out / "thesis.json").write_text(json.dumps(report, indent=1))
        (args.out / "report.md").write_text(text)
        bar_charts(report, args.out)
    print(json.dumps(report) if args.json else text)
    return 0
