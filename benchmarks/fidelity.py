"""How well the simulator predicts the runtime: the thesis experiment run for real (five MNIST
jobs, an emulated autoscaling cluster of 1 to 2 one-GPU nodes) and simulated with a profile of
the same scaled job measured here, for the goodput, speed and cost arms. Errors are
(sim - real) / real x 100; the target is within 10 % on mean JCT and node-seconds.

    .venv/bin/python benchmarks/fidelity.py --json [--scale 0.04] [--out DIR]

DIR (a temporary folder by default) gets fidelity-report.json, report.md and the charts
(real-vs-sim.png, node-lifetimes.png) of `adaptsched experiment thesis --real`.

Per arm, ``replay_*`` is a diagnostic beside the prediction: the same simulation with the
step times the real jobs measured during the run, so that the machine's speed changing
between profile and run drops out and what is left is the simulator's model of the rest.
``--rescore DIR`` predicts the real runs of an earlier DIR again without running anything.

Each arm runs on the runtime for real (about 7 minutes at the default scale on 2 cores),
so this benchmark is not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from adaptsched.experiments.thesis_real import (
    RealSetup,
    rescore_experiment,
    run_real_experiment,
    setup_of,
)
from adaptsched.experiments.thesis_real_report import charts, markdown, real_comparisons

ARMS = ("goodput", "speed", "cost")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=RealSetup.scale)
    parser.add_argument("--interval", type=float, default=RealSetup.interval_s)
    parser.add_argument("--arms", nargs="+", default=list(ARMS))
    parser.add_argument("--seeds", type=int, default=3, help="simulated runs per arm")
    parser.add_argument("--profile", type=Path, default=None, help="reuse this scaled profile")
    parser.add_argument(
        "--step-times-once",
        action="store_true",
        help="predict every arm from the profile's step times (default: re-measured on each "
        "arm's started cluster just before its jobs)",
    )
    parser.add_argument(
        "--rescore",
        type=Path,
        default=None,
        metavar="DIR",
        help="run nothing: predict the real runs of an earlier --out DIR again (rewrites its "
        "report)",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--policy", default=RealSetup.policy, help="of the runs and predictions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    setup = dataclasses.replace(
        RealSetup(),
        scale=args.scale,
        interval_s=args.interval,
        policy=args.policy,
        step_times_per_arm=not args.step_times_once,
    )
    if args.rescore is not None:
        out = args.rescore
        report = json.loads((out / "fidelity-report.json").read_text())
        report = rescore_experiment(report, args.seeds)
        setup = setup_of(report)
    else:
        out = args.out or Path(tempfile.mkdtemp(prefix="adaptsched-fidelity-"))
        out.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(sys.stderr):  # `up`/`down` messages: stdout is JSON
            report = run_real_experiment(args.arms, setup, out, args.profile, args.seeds)
    report["comparisons"] = real_comparisons(report)
    (out / "fidelity-report.json").write_text(json.dumps(report, indent=1))
    (out / "report.md").write_text(markdown(report))  # the same report as the experiment's
    charts(report, out)
    arms = {}
    for arm, body in report["arms"].items():
        real, sim, replay = body["real"], body["sim"], body.get("replay", {})
        arms[arm] = {
            "real_mean_jct_s": round(real["mean_jct_s"], 1),
            "sim_mean_jct_s": round(sim["mean_jct_s"], 1),
            "jct_error_pct": _round(body["jct_error_pct"]),
            "real_node_seconds": round(real["node_seconds"], 1),
            "sim_node_seconds": round(sim["node_seconds"], 1),
            "node_seconds_error_pct": _round(body["node_seconds_error_pct"]),
            "real_restarts_per_job": real["restarts_per_job"],
            "sim_restarts_per_job": round(sim["restarts_per_job"], 2),
            "replay_mean_jct_s": _round(replay.get("mean_jct_s")),
            "replay_jct_error_pct": _round(replay.get("jct_error_pct")),
            "replay_node_seconds_error_pct": _round(replay.get("node_seconds_error_pct")),
            "restart_delay_s": body["sim_inputs"]["restart_s"],
            "step_s_1x64": {  # one replica at local batch 64: the jobs' commonest step
                "profile": body["sim_inputs"]["step_times"].get("1x64"),
                "real": real["step_times"].get("1x64"),
            },
            "provision_delay_s": body["sim_inputs"]["provision_delay_s"],
        }
    errors = [abs(v[k]) for v in arms.values() for k in ("jct_error_pct", "node_seconds_error_pct")
              if v[k] is not None]  # fmt: skip
    result = {
        "arms": arms,
        "max_abs_error_pct": round(max(errors), 1) if errors else None,
        "target_pct": 10.0,
        "train_samples": setup.train_samples,
        "interval_s": setup.interval_s,
        "policy": setup.policy,
        "out": str(out),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    print(f"full report in {out}", file=sys.stderr)
    return 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    sys.exit(main())
