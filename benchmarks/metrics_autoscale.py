"""Do the metric options keep their promises? Every metric arm, same workloads, same seeds.

Runs a policy (``--policy``, the project's default unless given) with autoscaling (nodes of
4 GPUs, 1 to 16 nodes, 90 s provisioning) on the workloads of
``../shared/pollux-traces/workloads`` once per metric arm (``goodput``, ``speed``, ``cost``,
``balanced``, ``speed-thesis``, ``cost-thesis``, or any metric name such as ``cost:0.4``),
every job of a run carrying the arm's metric (or a ``--variant``: a metric with some of its
fields changed, ``NAME=BASE,field=value,...``), and prints one JSON object: per arm the mean
JCT over the workloads, the node-hours summed over them and the restarts per job (and, per
application, the mean JCT, restarts and GPU-hours per job); then the changes of every arm
relative to ``goodput`` in percent (negative = lower).

    .venv/bin/python benchmarks/metrics_autoscale.py --traces ../shared/pollux-traces --json

Targets: speed JCT <= -15 %; cost (at its default price) node-hours <= -8 % with JCT
<= +15 %; balanced between the two on both figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from adaptsched.models.errors import ModelInputError
from adaptsched.models.metrics import GOODPUT, Metric, get_metric
from adaptsched.policy.base import Policy
from adaptsched.policy.registry import DEFAULT_POLICY, make_policy, policy_names, policy_options
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.paths import profiles_dir, traces_root
from adaptsched.sim.results import JobResult
from adaptsched.sim.runner import SimConfig, load_truths, run_workload_file
from adaptsched.sim.truth import ProfileTruth
from adaptsched.stdout_guard import stdout_to_stderr

ARMS = ("goodput", "speed", "cost", "balanced", "speed-thesis", "cost-thesis")
_TRUTHS: dict[str, dict[str, ProfileTruth]] = {}


def sim_config(metric: Metric = GOODPUT) -> SimConfig:
    """The simulator settings of every arm (and of the benchmarks compared with them):
    autoscaling between 1 and 16 nodes, starting at 1."""
    return SimConfig(
        autoscale=AutoscaleConfig(min_nodes=1, max_nodes=16, initial_nodes=1), metric=metric
    )


def truths(traces: str) -> dict[str, ProfileTruth]:
    """The profiles under ``traces``, loaded once per process."""
    if traces not in _TRUTHS:
        _TRUTHS[traces] = load_truths(traces)
    return _TRUTHS[traces]


def build_policy(name: str, seed: int, generations: int) -> Policy:
    """``name`` seeded; ``generations`` only for a policy that searches by generations."""
    options = {"generations": generations} if "generations" in policy_options(name) else {}
    return make_policy(name, seed=seed, **options)


#: (arm, workload, the run's summary, its jobs)
Outcome = tuple[str, str, dict[str, float], tuple[JobResult, ...]]

#: Metric fields a ``--variant`` may change (``utility_band`` as LOW/HIGH): all but the name.
VARIANT_FIELDS = tuple(f.name for f in dataclasses.fields(Metric) if f.name != "name")


def parse_variant(spec: str) -> Metric:
    """``NAME=BASE,field=value,...``: the metric BASE (any name ``get_metric`` knows) under the
    arm name NAME with the fields given changed, e.g. ``speed-full=speed,utility_band=0/0``,
    so that a design variant is measured by a committed command rather than a patched copy.
    ValueError (one line) for a malformed spec, an unknown field or a value out of range."""
    name, sep, rest = spec.partition("=")
    base_name, *assignments = rest.split(",")
    if not sep or not name or not base_name:
        raise ValueError(f"--variant {spec!r}: expected NAME=BASE,field=value,...")
    try:
        base = get_metric(base_name)
    except ModelInputError as err:
        raise ValueError(f"--variant {spec!r}: {err}") from None
    changes: dict[str, object] = {}
    for assignment in assignments:
        field, eq, value = assignment.partition("=")
        if not eq or field not in VARIANT_FIELDS:
            valid = ", ".join(VARIANT_FIELDS)
            raise ValueError(f"--variant {spec!r}: {assignment!r} is not FIELD=VALUE of {valid}")
        try:
            if field == "utility_band":
                low, high = value.split("/")
                changes[field] = (float(low), float(high))
            else:
                changes[field] = float(value)
        except ValueError:
            wanted = "two numbers LOW/HIGH" if field == "utility_band" else "a number"
            raise ValueError(f"--variant {spec!r}: {field} {value!r} is not {wanted}") from None
    try:
        return dataclasses.replace(base, name=name, **changes)
    except ModelInputError as err:
        raise ValueError(f"--variant {spec!r}: {err}") from None


def _run_one(task: tuple[str, str, Metric, int, int, str]) -> Outcome:
    workload, traces, metric, seed, generations, policy_name = task
    policy = build_policy(policy_name, seed, generations)
    result = run_workload_file(workload, truths(traces), policy, sim_config(metric))
    return metric.name, Path(workload).stem, result.summary(), result.jobs


def workload_files(traces: Path) -> list[Path]:
    """The workload CSVs of the reference data root (``traces`` may also be its traces
    folder)."""
    root = traces if (traces / "workloads").is_dir() else traces.parent
    return sorted((root / "workloads").glob("workload-*.csv"))


def goodput_arm(
    pool: Executor, files: list[Path], traces: str, generations: int, policy: str = "pollux"
) -> dict:
    """The goodput arm's figures over ``files`` (seed 0): the reference the other cost and
    speed benchmarks compare with (measured against the genetic ``pollux``)."""
    runs = [(str(f), traces, GOODPUT, 0, generations, policy) for f in files]
    return summarise(list(pool.map(_run_one, runs)), ["goodput"])["arms"]["goodput"]


def reference_parser(description: str) -> argparse.ArgumentParser:
    """Options shared by the benchmarks that compare with the goodput arm."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--traces", type=Path, default=traces_root(), help="reference data root")
    parser.add_argument("--generations", type=int, default=30, help="GA generations (goodput)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _change_pct(value: float, reference: float) -> float:
    return 100.0 * (value / reference - 1.0)


def by_application(jobs: Iterable[JobResult]) -> dict[str, dict[str, float]]:
    """Per application over all the jobs given (every workload of an arm): jobs, mean JCT,
    restarts and GPU-hours per job (where a metric's JCT and node-hours go)."""
    groups: dict[str, list[JobResult]] = {}
    for job in jobs:
        groups.setdefault(job.application, []).append(job)
    return {
        app: {
            "jobs": len(group),
            "mean_jct_s": float(np.mean([j.jct_s for j in group])),
            "restarts_per_job": float(np.mean([j.restarts for j in group])),
            "gpu_hours_per_job": float(np.mean([j.gpu_hours for j in group])),
        }
        for app, group in sorted(groups.items())
    }


def summarise(outcomes: list[Outcome], arms: list[str]) -> dict:
    """Per-arm figures (also per application) and the changes the targets are stated in."""
    report: dict = {"arms": {}}
    for arm in arms:
        runs = {w: s for a, w, s, _ in outcomes if a == arm}
        report["arms"][arm] = {
            "mean_jct_s": float(np.mean([s["mean_jct_s"] for s in runs.values()])),
            "node_hours": float(np.sum([s["node_hours"] for s in runs.values()])),
            "restarts_per_job": float(np.mean([s["restarts_per_job"] for s in runs.values()])),
            "workloads": {
                w: {k: s[k] for k in ("mean_jct_s", "node_hours", "restarts_per_job")}
                for w, s in sorted(runs.items())
            },
            "by_application": by_application(j for a, _, _, js in outcomes if a == arm for j in js),
        }
    base = report["arms"].get("goodput")
    if base is None:
        return report
    report["changes_pct"] = {
        arm: {
            "jct": _change_pct(figures["mean_jct_s"], base["mean_jct_s"]),
            "node_hours": _change_pct(figures["node_hours"], base["node_hours"]),
        }
        for arm, figures in report["arms"].items()
        if arm != "goodput"
    }
    for arm in ("speed", "cost", "balanced"):
        if arm in report["changes_pct"]:
            report[f"{arm}_jct_change_pct"] = report["changes_pct"][arm]["jct"]
            report[f"{arm}_node_hours_change_pct"] = report["changes_pct"][arm]["node_hours"]
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=traces_root(), help="reference data root")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), help="metric names to run")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=BASE,FIELD=VALUE,...",
        help="an extra arm: metric BASE with fields changed (" + ", ".join(VARIANT_FIELDS) + ")",
    )
    parser.add_argument("--workloads", nargs="+", default=None, help="e.g. workload-1 (all)")
    parser.add_argument("--policy", default=DEFAULT_POLICY, choices=policy_names())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generations", type=int, default=100, help="GA generations per round")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    files = workload_files(args.traces)
    if args.workloads:
        files = [f for f in files if f.stem in set(args.workloads)]
    if not files:
        print(f"no workloads under {args.traces}", file=sys.stderr)
        return 2
    try:  # unknown names and malformed variants fail here, in one line
        metrics = [get_metric(arm) for arm in args.arms] + [parse_variant(v) for v in args.variant]
    except (ModelInputError, ValueError) as err:
        print(f"metrics_autoscale: {err}", file=sys.stderr)
        return 2
    arms = [m.name for m in metrics]
    if len(set(arms)) != len(arms):
        print(f"metrics_autoscale: an arm is named twice in {arms}", file=sys.stderr)
        return 2
    traces = str(profiles_dir(args.traces))
    seed, generations = args.seed, args.generations
    tasks = [(str(f), traces, m, seed, generations, args.policy) for f in files for m in metrics]
    start = time.perf_counter()
    with stdout_to_stderr(), ProcessPoolExecutor(max_workers=args.workers) as pool:
        outcomes = list(pool.map(_run_one, tasks))
    report = summarise(outcomes, arms)
    report["wall_s"] = time.perf_counter() - start
    report["config"] = {
        "workloads": [f.stem for f in files],
        "nodes": "1..16 x 4 GPUs",
        "provision_delay_s": AutoscaleConfig().provision_delay_s,
        "policy": args.policy,
        "generations": args.generations if "generations" in policy_options(args.policy) else None,
        "seed": args.seed,
        "variants": {m.name: dataclasses.asdict(m) for m in metrics[len(args.arms) :]},
    }
    if args.json:
        print(json.dumps(report))
    else:
        for arm, fig in report["arms"].items():
            print(
                f"{arm:>13}: mean JCT {fig['mean_jct_s']:7.0f} s  node-hours "
                f"{fig['node_hours']:7.1f}  restarts/job {fig['restarts_per_job']:.2f}"
            )
        for arm, change in report.get("changes_pct", {}).items():
            jct, hours = change["jct"], change["node_hours"]
            print(f"{arm} vs goodput: JCT {jct:+.1f} %, node-hours {hours:+.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
