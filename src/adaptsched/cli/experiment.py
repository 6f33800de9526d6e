"""`adaptsched experiment thesis`: the seed thesis's experiment in the simulator, side by side
with the thesis's own numbers (docs/metrics.md); with ``--real``, on the runtime, next to the
simulator's prediction of the same runs (docs/fidelity.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from adaptsched.cli.args import bounded, output_dir
from adaptsched.stdout_guard import quiet_if

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
    real = parser.add_argument_group("on the runtime (--real)")
    real.add_argument(
        "--real",
        action="store_true",
        help="run the jobs for real on an emulated autoscaling cluster, next to the "
        "simulator's prediction (--seeds simulated runs per arm)",
    )
    real.add_argument(
        "--scale",
        type=bounded(float, 0.005, 1.0),
        default=None,
        help="fraction of MNIST's training set per epoch (0.04: about 10-20 min per arm here)",
    )
    real.add_argument(
        "--arms", nargs="+", default=None, help="arms to run (all: " + ", ".join(_arms()) + ")"
    )
    real.add_argument(
        "--interval", type=bounded(float, 1.0, 600.0), default=None, help="seconds per round (10)"
    )
    real.add_argument(
        "--step-times-once",
        action="store_true",
        help="predict every arm from the profile's step times (default: re-measured on each "
        "arm's started cluster just before its jobs are submitted)",
    )


def _arms() -> tuple[str, ...]:
    from adaptsched.experiments.thesis_real import ARMS

    return ARMS


def _check_real_flags(args: argparse.Namespace) -> None:
    given = [f for f in ("scale", "arms", "interval") if getattr(args, f) is not None]
    given += ["step-times-once"] if args.step_times_once else []
    if given and not args.real:
        raise ValueError(f"--{given[0]}: only used with --real")
    for arm in args.arms or ():
        if arm not in _arms():
            raise ValueError(f"--arms {arm}: unknown arm; arms: {', '.join(_arms())}")


def run(args: argparse.Namespace) -> int:
    from adaptsched.experiments.thesis import ThesisSetup, run_thesis
    from adaptsched.experiments.thesis_report import bar_charts, comparisons, markdown

    _check_real_flags(args)
    if args.out is not None:
        output_dir(args.out, "--out")
    if args.real:
        return _run_real(args)

    def progress(arm: str, seed: int) -> None:
        sys.stderr.write(f"\r{arm:>13} seed {seed + 1}/{args.seeds}   ")
        sys.stderr.flush()

    from adaptsched.policy.registry import DEFAULT_POLICY, policy_class

    policy = args.policy or DEFAULT_POLICY
    policy_class(policy)  # a clear error for unknown policies
    setup = ThesisSetup(policy=policy, generations=args.generations)
    with quiet_if(args.json):
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


def _run_real(args: argparse.Namespace) -> int:
    import tempfile

    from adaptsched.experiments.thesis_real import ARMS, RealSetup, run_real_experiment
    from adaptsched.experiments.thesis_real_report import charts, markdown, real_comparisons

    setup = RealSetup()
    if args.scale is not None:
        setup = dataclasses.replace(setup, scale=args.scale)
    if args.interval is not None:
        setup = dataclasses.replace(setup, interval_s=args.interval)
    if args.step_times_once:
        setup = dataclasses.replace(setup, step_times_per_arm=False)
    if args.policy is not None:
        from adaptsched.policy.registry import policy_class

        policy_class(args.policy)  # a clear error for unknown policies
        setup = dataclasses.replace(setup, policy=args.policy)
    out = args.out or Path(tempfile.mkdtemp(prefix="adaptsched-thesis-real-"))
    out.mkdir(parents=True, exist_ok=True)
    with quiet_if(args.json):
        report = run_real_experiment(args.arms or ARMS, setup, out, args.profile, args.seeds)
    report["comparisons"] = real_comparisons(report)
    text = markdown(report)
    (out / "thesis-real.json").write_text(json.dumps(report, indent=1))
    (out / "report.md").write_text(text)
    charts(report, out)
    print(json.dumps(report) if args.json else text)
    print(f"report, charts and each arm's state in {out}", file=sys.stderr)
    return 0
