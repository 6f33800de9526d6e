"""`adaptsched sim`: run workload traces through the simulator under one policy and report
JCTs, makespan, GPU-hours, restarts and the policy's time per round."""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from pathlib import Path

from adaptsched.cli.args import bounded, output_dir
from adaptsched.control import ControlHooks, RoundRecord
from adaptsched.models import ModelInputError
from adaptsched.models.metrics import get_metric, metric_names
from adaptsched.policy.registry import DEFAULT_POLICY, make_policy, policy_class, policy_names
from adaptsched.sim.admission import load_admitted
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.errors import TimeLimitError
from adaptsched.sim.history import RunHistory
from adaptsched.sim.paths import ENV_VAR, profiles_dir, workload_files
from adaptsched.sim.plots import plot_gpus_in_use, plot_jct_cdf
from adaptsched.sim.results import SimResult
from adaptsched.sim.runner import SimConfig, build_jobs, load_truths, simulate_jobs
from adaptsched.stdout_guard import quiet_if

#: Largest cluster and GPUs per node the command accepts (sizes beyond are typing errors).
MAX_NODES = 4096
MAX_GPUS_PER_NODE = 64
#: Round interval bounds: below 1 s a round outruns anything a scheduler could act on (and a
#: run of days takes billions of rounds); above an hour jobs wait hours for a first start.
MIN_INTERVAL_S, MAX_INTERVAL_S = 1.0, 3600.0
#: Flags that only matter with --autoscale.
_AUTOSCALE_FLAGS = ("min_nodes", "max_nodes", "initial_nodes", "provision_delay")
#: Configuration fields -> the flag that sets them: errors are reported in the user's terms.
_FIELD_FLAGS = {
    "gpus_per_node": "--gpus-per-node",
    "interval_s": "--interval",
    "min_nodes": "--min-nodes",
    "max_nodes": "--max-nodes",
    "initial_nodes": "--initial-nodes",
    "provision_delay_s": "--provision-delay",
    "nodes": "--nodes",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    nodes = bounded(int, 1, MAX_NODES)
    parser.add_argument("workload", type=Path, help="workload CSV, or a folder of them")
    parser.add_argument(
        "--traces",
        type=Path,
        default=None,
        help=f"job profiles (one folder per application); default ${ENV_VAR} or "
        "../shared/pollux-traces",
    )
    parser.add_argument("--policy", default=DEFAULT_POLICY, choices=policy_names())
    parser.add_argument("--nodes", type=nodes, default=16)
    parser.add_argument("--gpus-per-node", type=bounded(int, 1, MAX_GPUS_PER_NODE), default=4)
    parser.add_argument(
        "--interval",
        type=bounded(float, MIN_INTERVAL_S, MAX_INTERVAL_S, " seconds"),
        default=60.0,
        help="seconds per round (1 to 3600)",
    )
    parser.add_argument(
        "--seed", type=bounded(int, 0, 2**32 - 1), default=None, help="randomised policies (0)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, default=None, help="write JSON and PNG plots here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--metric",
        "--metrics-options",
        dest="metric",
        default=None,
        help=f"every job's metric and the autoscaler's: {', '.join(metric_names())}, "
        "default (= goodput), or balanced:K with K in [0, 1]",
    )
    parser.add_argument(
        "--autoscale",
        action="store_true",
        help="let the policy resize the cluster between --min-nodes and --max-nodes",
    )
    parser.add_argument("--min-nodes", type=nodes, default=None, help="with --autoscale (1)")
    parser.add_argument("--max-nodes", type=nodes, default=None, help="default: --nodes")
    parser.add_argument("--initial-nodes", type=nodes, default=None, help="default: --min-nodes")
    parser.add_argument(
        "--provision-delay",
        type=bounded(float, 0.0, 86400.0, " seconds"),
        default=None,
        help="seconds until a new node is usable (90)",
    )
    parser.add_argument(
        "--max-time",
        type=bounded(float, 0.01, 1e5, " hours"),
        default=720.0,
        help="stop at this much simulated time (hours; 720 = 30 days) and report what finished",
    )
    parser.add_argument(
        "--generations",
        type=bounded(int, 1, 10_000),
        default=None,
        help="pollux: generations per round (100)",
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


def _write_outputs(
    out: Path, name: str, result: SimResult, history: RunHistory, config: SimConfig
) -> None:
    """The summary, its plots, and the history the dashboard reads (``NAME-history.json``)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result.to_json(), indent=1))
    run = history.to_json(result, name, config)
    (out / f"{name}-history.json").write_text(json.dumps(run, separators=(",", ":")))
    plot_jct_cdf(result, out / f"{name}-jct-cdf.png")
    plot_gpus_in_use(result, out / f"{name}-gpus.png")


def _refuse_idle_options(args: argparse.Namespace) -> None:
    """Refuse options that would do nothing in this combination (a silent no-op misleads)."""
    if not args.autoscale:
        for name in _AUTOSCALE_FLAGS:
            if getattr(args, name) is not None:
                raise ValueError(f"--{name.replace('_', '-')}: only used with --autoscale")
    adaptive = policy_class(args.policy).adaptive_jobs
    if args.metric is not None and not args.autoscale and not adaptive:
        raise ValueError(
            f"--metric {args.metric}: no effect with policy {args.policy}, whose jobs keep "
            "the workload's batch size (metrics drive adaptive jobs and --autoscale)"
        )


def policy_options(args: argparse.Namespace) -> dict[str, int]:
    """The policy options given; one the policy does not take is refused, not dropped."""
    given = {"seed": args.seed, "generations": args.generations}
    options = {key: value for key, value in given.items() if value is not None}
    accepted = inspect.signature(policy_class(args.policy)).parameters
    for key in options:
        if key not in accepted:
            raise ValueError(f"--{key}: policy {args.policy} takes no {key} (no effect)")
    return options


def _in_flag_terms(exc: ValueError) -> ValueError:
    """A configuration error with the fields it names replaced by their flags."""
    text = re.sub(r"^\w+Config: ", "", str(exc))
    pattern = r"\b(" + "|".join(_FIELD_FLAGS) + r")\b"
    return ValueError(re.sub(pattern, lambda m: _FIELD_FLAGS[m.group(1)], text))


def sim_config(args: argparse.Namespace) -> SimConfig:
    """The simulated cluster the flags describe (bad values raise ValueError naming the flag)."""
    _refuse_idle_options(args)
    try:
        metric = get_metric(args.metric or "goodput")
    except ModelInputError as exc:
        raise ValueError(f"--metric: {exc}") from None
    try:
        autoscale = None
        if args.autoscale:
            low = args.min_nodes if args.min_nodes is not None else 1
            high = args.max_nodes if args.max_nodes is not None else args.nodes
            initial = args.initial_nodes if args.initial_nodes is not None else low
            delay = args.provision_delay if args.provision_delay is not None else 90.0
            autoscale = AutoscaleConfig(low, high, initial, delay)
        return SimConfig(
            nodes=args.nodes,
            gpus_per_node=args.gpus_per_node,
            interval_s=args.interval,
            autoscale=autoscale,
            metric=metric,
            max_time_s=args.max_time * 3600.0,
        )
    except ValueError as exc:
        raise _in_flag_terms(exc) from None


def _report(args: argparse.Namespace, config: SimConfig, results: dict[str, SimResult]) -> None:
    """The closing summary over the workloads that finished."""
    summaries = {name: r.summary() for name, r in results.items()}
    mean = sum(s["mean_jct_s"] for s in summaries.values()) / len(summaries)
    if args.json:
        out = {"policy": args.policy, "metric": config.metric.name, "mean_jct_s": mean}
        print(json.dumps({**out, "workloads": summaries}))
    elif len(results) > 1:
        print(f"mean JCT over {len(results)} workloads: {mean:.0f} s")


def run(args: argparse.Namespace) -> int:
    """Check everything first (flags, output folder, every workload can run to the end), then
    simulate; what finished is still reported if a later workload fails."""
    config = sim_config(args)
    options = policy_options(args)
    if args.out is not None:
        output_dir(args.out, "--out")
    files = workload_files(args.workload)
    truths = load_truths(profiles_dir(args.traces))
    checker = make_policy(args.policy, **options)
    workloads = {path: load_admitted(path, truths, checker, config) for path in files}
    results: dict[str, SimResult] = {}
    try:
        for path, workload in workloads.items():
            hooks: tuple[ControlHooks, ...] = () if args.no_progress else (ProgressBar(path.stem),)
            policy = make_policy(args.policy, **options)
            jobs = build_jobs(workload, truths, policy.adaptive_jobs, config.metric, config.fitter)
            history = RunHistory(jobs, config.gpus_per_node)
            if args.out is not None:
                hooks = (*hooks, history)
            try:
                with quiet_if(args.json):
                    result = simulate_jobs(jobs, policy, config, hooks)
            except TimeLimitError as exc:
                _keep(args, path.stem, exc.partial, results, history, config)
                raise TimeLimitError(f"{path}: {exc} (--max-time)", exc.partial) from None
            _keep(args, path.stem, result, results, history, config)
    finally:
        if results:
            _report(args, config, results)
    return 0


def _keep(
    args: argparse.Namespace,
    name: str,
    result: SimResult,
    results: dict[str, SimResult],
    history: RunHistory,
    config: SimConfig,
) -> None:
    """Record one workload's results (all of them, or those of the jobs that finished)."""
    if not result.jobs:
        return
    results[name] = result
    if args.out is not None:
        _write_outputs(args.out, name, result, history, config)
    if not args.json:
        _print_summary(name, result)
