"""`adaptsched sim`: run workload traces through the simulator under one policy and report
JCTs, makespan, GPU-hours, restarts and the policy's time per round."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adaptsched.control import ControlHooks, RoundRecord
from adaptsched.models import ModelInputError
from adaptsched.models.metrics import get_metric, metric_names
from adaptsched.policy.registry import make_policy, policy_names
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.paths import ENV_VAR, profiles_dir, workload_files
from adaptsched.sim.plots import plot_gpus_in_use, plot_jct_cdf
from adaptsched.sim.results import SimResult
from adaptsched.sim.runner import SimConfig, load_truths, run_workload_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workload", type=Path, help="workload CSV, or a folder of them")
    parser.add_argument(
        "--traces",
        type=Path,
        default=None,
        help=f"job profiles (one folder per application); default ${ENV_VAR} or "
        "../shared/pollux-traces",
    )
    parser.add_argument("--policy", default="pollux", choices=policy_names())
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--gpus-per-node", type=int, default=4)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per round")
    parser.add_argument("--seed", type=int, default=0, help="seed of randomised policies")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, default=None, help="write JSON and PNG plots here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--metric",
        "--metrics-options",
        dest="metric",
        default="goodput",
        help=f"every job's metric and the autoscaler's: {', '.join(metric_names())}, "
        "default (= goodput), or balanced:K with K in [0, 1]",
    )
    parser.add_argument(
        "--autoscale",
        action="store_true",
        help="let the policy resize the cluster between --min-nodes and --max-nodes",
    )
    parser.add_argument("--min-nodes", type=int, default=1)
    parser.add_argument("--max-nodes", type=int, default=None, help="default: --nodes")
    parser.add_argument("--initial-nodes", type=int, default=None, help="default: --min-nodes")
    parser.add_argument(
        "--provision-delay", type=float, default=90.0, help="seconds until a new node is usable"
    )
    parser.add_argument(
        "--generations", type=int, default=None, help="pollux: generations per round (100)"
    )


class ProgressBar(ControlHooks):
    """A plain one-line progress bar on stderr (jobs finished, simulated hours)."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label, self.width = label, width

    def on_round(self, record: RoundRecord) -> None:
        if record.index % 10 and record.jobs_finished < record.jobs_total:
            return
        share = record.jobs_finished / max(record.jobs_total, 1)
        bar = "#" * int(share * self.width)
        sys.stderr.write(
            f"\r{self.label} [{bar:<{self.width}}] {record.jobs_finished}/{record.jobs_total} "
            f"jobs  t={record.time_s / 3600:6.1f} h  GPUs {record.gpus_in_use}/{record.total_gpus}"
        )
        if record.jobs_finished == record.jobs_total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _print_summary(name: str, result: SimResult) -> None:
    s = result.summary()
    print(f"{name} ({result.policy}, {s['jobs']} jobs, {s['rounds']} rounds)")
    print(
        f"  JCT mean {s['mean_jct_s']:.0f} s  p50 {s['p50_jct_s']:.0f} s  "
        f"p99 {s['p99_jct_s']:.0f} s"
    )
    print(
        f"  makespan {s['makespan_s'] / 3600:.2f} h  GPU-hours {s['gpu_hours']:.1f}  "
        f"restarts/job {s['restarts_per_job']:.2f}"
    )
    print(
        f"  policy time per round p50 {s['policy_p50_ms']:.2f} ms  p95 {s['policy_p95_ms']:.2f} ms"
    )
    print(f"  node-hours {s['node_hours']:.1f}")


def _write_outputs(out: Path, name: str, result: SimResult) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result.to_json(), indent=1))
    plot_jct_cdf(result, out / f"{name}-jct-cdf.png")
    plot_gpus_in_use(result, out / f"{name}-gpus.png")


def sim_config(args: argparse.Namespace) -> SimConfig:
    """The simulated cluster the flags describe (bad values raise ValueError naming the flag)."""
    try:
        metric = get_metric(args.metric)
    except ModelInputError as exc:
        raise ValueError(f"--metric: {exc}") from None
    autoscale = None
    if args.autoscale:
        max_nodes = args.max_nodes if args.max_nodes is not None else args.nodes
        initial = args.initial_nodes if args.initial_nodes is not None else args.min_nodes
        try:
            autoscale = AutoscaleConfig(args.min_nodes, max_nodes, initial, args.provision_delay)
        except ValueError as exc:
            raise ValueError(f"--min-nodes/--initial-nodes/--max-nodes: {exc}") from None
    return SimConfig(
        nodes=args.nodes,
        gpus_per_node=args.gpus_per_node,
        interval_s=args.interval,
        autoscale=autoscale,
        metric=metric,
    )


def run(args: argparse.Namespace) -> int:
    files = workload_files(args.workload)
    config = sim_config(args)
    truths = load_truths(profiles_dir(args.traces))
    options = {"seed": args.seed}
    if args.generations is not None:
        options["generations"] = args.generations
    results: dict[str, SimResult] = {}
    for path in files:
        policy = make_policy(args.policy, **options)
        hooks = () if args.no_progress else (ProgressBar(path.stem),)
        result = run_workload_file(path, truths, policy, config, hooks)
        results[path.stem] = result
        if args.out is not None:
            _write_outputs(args.out, path.stem, result)
        if not args.json:
            _print_summary(path.stem, result)
    summaries = {name: r.summary() for name, r in results.items()}
    mean = sum(s["mean_jct_s"] for s in summaries.values()) / len(summaries)
    if args.json:
        out = {"policy": args.policy, "metric": config.metric.name, "mean_jct_s": mean}
        print(json.dumps({**out, "workloads": summaries}))
    elif len(results) > 1:
        print(f"mean JCT over {len(results)} workloads: {mean:.0f} s")
    return 0
