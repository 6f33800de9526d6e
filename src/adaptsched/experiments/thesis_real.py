"""The seed thesis's experiment on the real runtime, next to the simulator's prediction of the
same setup: five MNIST jobs submitted together to an autoscaled cluster of one-GPU nodes
(emulated on this machine through Ray's fake multi-node provider), 1 to 2 nodes, starting at 1.

``--scale`` shrinks every epoch to that fraction of MNIST's 60000 training samples (the thesis's
epoch counts and initial batches are kept; accuracy is measured on the full test set). The
simulator predicts each arm from a profile of the same scaled job measured on this machine
(``adaptsched profile --train-samples``; its step times measured again on each arm's started
cluster, ``RealSetup.step_times_per_arm``), with the runtime's round interval, the restart delay
and node provisioning delay that the real run measured, so that what differs between the two
is what the simulator models: step times, statistical efficiency and the policy's choices.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptsched.experiments.thesis import THESIS_JOBS, ThesisSetup, arm_summary, run_arm
from adaptsched.policy.registry import DEFAULT_POLICY

#: MNIST's training set.
MNIST_SAMPLES = 60000
#: Every arm of the simulated experiment can run for real.
ARMS = ("pollux", "goodput", "speed", "speed-thesis", "cost", "cost-thesis", "balanced")
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class RealSetup:
    """The real run's cluster and jobs (the thesis's, scaled down in data and time)."""

    scale: float = 0.04  # fraction of the training set per epoch (0.04: 2400 samples)
    interval_s: float = 10.0  # scheduling round (the thesis: 60 s for jobs ~50x longer)
    min_nodes: int = 1
    max_nodes: int = 2
    gpus_per_node: int = 1
    idle_timeout_s: float = 10.0  # an unneeded node leaves after this long idle
    restart_cost_s: float = 10.0  # the policy's restart prior until one is measured
    stop_timeout_s: float = 60.0
    #: The policy of the real runs and of their prediction: the runtime's default. It is
    #: deterministic, so both sides break ties between equal jobs alike (with the genetic
    #: search each side draws its own order, docs/fidelity.md); ``--policy`` picks another.
    policy: str = DEFAULT_POLICY
    timeout_s: float = 3600.0  # give up on an arm after this long
    #: Re-measure the profile's step times on each arm's started cluster just before its jobs
    #: are submitted (the gradient statistics are kept): this machine's speed moves 20-40 %
    #: within a day, and the runtime's own processes share its cores (docs/fidelity.md).
    step_times_per_arm: bool = True

    @property
    def train_samples(self) -> int:
        return max(64, round(MNIST_SAMPLES * self.scale))


def submit_thesis_jobs(client: Any, train_samples: int, metric: str) -> list[str]:
    """Submit the thesis's five MNIST jobs (its epochs and initial batches) to a runtime."""
    from adaptsched.jobs import MNIST_SCRIPT

    ids = []
    for name, epochs, batch in THESIS_JOBS:
        command = [str(MNIST_SCRIPT), "--epochs", str(epochs), "--batch-size", str(batch)]
        command += ["--train-samples", str(train_samples), "--eval", "final"]
        ids.append(client.submit(command, name=name, metric=metric)["id"])
    return ids


def arm_metric(arm: str) -> str:
    """The runtime's metric for an arm. The ``pollux`` arm is goodput with every job weighed
    alike; the published Pollux throughput fitter exists only in the simulator."""
    return "goodput" if arm == "pollux" else arm


def run_real_arm(
    arm: str,
    setup: RealSetup,
    state_dir: Path,
    progress: Callable[[str], None] | None = None,
    before_jobs: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One arm on the runtime: up, submit the five jobs, wait for all of them, collect, down.
    ``before_jobs`` runs once the cluster is up, before the jobs are submitted."""
    from adaptsched.cli.main import main as cli
    from adaptsched.client import Client

    metric = arm_metric(arm)
    up = ["up", "--state-dir", str(state_dir), "--autoscale"]
    up += ["--min-nodes", str(setup.min_nodes), "--max-nodes", str(setup.max_nodes)]
    up += ["--gpus-per-node", str(setup.gpus_per_node), "--interval", str(setup.interval_s)]
    up += ["--idle-timeout", str(setup.idle_timeout_s), "--cluster-metric", metric]
    up += ["--restart-cost", str(setup.restart_cost_s)]
    up += ["--stop-timeout", str(setup.stop_timeout_s), "--policy", setup.policy]
    if cli(up) != 0:
        raise RuntimeError(f"arm {arm}: the runtime did not start (see {state_dir})")
    try:
        client = Client.connect(state_dir)
        _wait_for_nodes(client, setup.min_nodes)  # the thesis's cluster starts with its node
        if before_jobs is not None:
            before_jobs()
        submit_thesis_jobs(client, setup.train_samples, metric)
        start = time.monotonic()
        jobs: list[dict[str, Any]] = []
        while time.monotonic() - start < setup.timeout_s:
            jobs = client.jobs()
            if progress is not None and int(time.monotonic() - start) % 30 < 3:
                done = sum(j["state"] in FINISHED for j in jobs)
                nodes = client.cluster()["nodes"]
                progress(f"{arm}: {time.monotonic() - start:5.0f} s, {done}/5 done, {nodes} nodes")
            if all(j["state"] in FINISHED for j in jobs):
                break
            time.sleep(3.0)
        else:
            raise RuntimeError(f"arm {arm}: not finished after {setup.timeout_s:.0f} s")
        return collect_real(state_dir, jobs)
    finally:
        cli(["down", "--state-dir", str(state_dir)])


def _wait_for_nodes(client: Any, count: int, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.cluster()["nodes"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster did not reach {count} nodes in {timeout_s:.0f} s")
        time.sleep(1.0)


def collect_real(state_dir: Path, jobs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The arm's figures from the runtime's own records (jobs, state store, job folders), in
    the shape of the simulated arm's summary."""
    from adaptsched.cluster.store import StateStore

    store = StateStore(state_dir / "state.db")
    try:
        start = min(j["submitted_s"] for j in jobs)
        end = max(j["finished_s"] or start for j in jobs)
        jct = {j["name"]: (j["finished_s"] or end) - j["submitted_s"] for j in jobs}
        lifetimes: dict[str, float] = {}
        for node in store.nodes():
            if node["gpus"] <= 0:
                continue
            joined, left = max(node["joined_s"], start), min(node["left_s"] or end, end)
            lifetimes[node["node_id"]] = lifetimes.get(node["node_id"], 0.0) + max(
                left - joined, 0.0
            )
        delays = restart_delays(store, [j["id"] for j in jobs])
        step_times, sync_times = run_step_times(store, [j["id"] for j in jobs])
    finally:
        store.close()
    accuracy = {j["name"]: _accuracy(state_dir / "jobs" / j["id"] / "summary.json") for j in jobs}
    values = list(jct.values())
    known = [a for a in accuracy.values() if a is not None]
    return {
        "mean_jct_s": statistics.fmean(values),
        "std_across_jobs_s": statistics.pstdev(values),
        "jobs": jct,
        "states": {j["name"]: j["state"] for j in jobs},
        "node_seconds": sum(lifetimes.values()),
        "node_lifetimes_s": lifetimes,
        "restarts": {j["name"]: j["restarts"] for j in jobs},
        "restarts_per_job": statistics.fmean(j["restarts"] for j in jobs),
        "accuracy": accuracy,
        "quality": statistics.fmean(known) if known else float("nan"),
        "restart_delay_s": statistics.median(delays) if delays else None,
        "restart_delays_s": delays,
        "step_times": step_times,
        "sync_times": sync_times,
    }


def run_step_times(store: Any, job_ids: Sequence[str]) -> tuple[dict[str, float], dict[str, float]]:
    """The step and sync times the jobs measured while they ran, averaged over the jobs by step
    count, keyed like the profile's (``_step_times``): "placement x local batch" -> seconds."""
    from adaptsched.cluster.profile_export import placement_of

    sums: dict[str, list[float]] = {}
    for job_id in job_ids:
        history = list(store.hints_history(job_id))
        for row in history[-1][2]["observations"] if history else []:
            key = f"{placement_of(row['nodes'], row['replicas'])}x{row['local_bsz']}"
            total = sums.setdefault(key, [0.0, 0.0, 0.0])
            total[0] += row["step_time"] * row["count"]
            total[1] += row["sync_time"] * row["count"]
            total[2] += row["count"]
    known = {k: t for k, t in sorted(sums.items()) if t[2] > 0}
    steps = {k: round(t[0] / t[2], 4) for k, t in known.items()}
    return steps, {k: round(t[1] / t[2], 4) for k, t in known.items()}


def restart_delays(store: Any, job_ids: Sequence[str]) -> list[float]:
    """Seconds from each generation's launch to its first report (it trains): the cost of a
    start or restart on this runtime, measured, for the simulator's ``restart_s``."""
    out = []
    for job_id in job_ids:
        launched = {g["generation"]: g["launched_s"] for g in store.generations(job_id)}
        first: dict[int, float] = {}
        for time_s, generation, _ in store.hints_history(job_id):
            first.setdefault(generation, time_s)
        out += [first[g] - t for g, t in launched.items() if g in first and t is not None]
    return sorted(round(d, 3) for d in out)


def _accuracy(path: Path) -> float | None:
    try:
        return float(json.loads(path.read_text())["test_accuracy"])
    except (OSError, ValueError, KeyError):
        return None


def predict_arm(
    arm: str,
    profile_dir: Path,
    setup: RealSetup,
    restart_s: float,
    provision_s: float,
    seeds: int = 3,
    generations: int = 100,
) -> dict[str, Any]:
    """The simulator's prediction of one real arm: the same jobs, cluster and round interval,
    the profile of the scaled job, the runtime's measured restart and provisioning delays."""
    from adaptsched.experiments.thesis import job_truths

    thesis_setup = ThesisSetup(
        min_nodes=setup.min_nodes,
        max_nodes=setup.max_nodes,
        initial_nodes=setup.min_nodes,
        gpus_per_node=setup.gpus_per_node,
        provision_delay_s=provision_s,
        interval_s=setup.interval_s,
        restart_s=restart_s,
        first_fit=True,
        shared_host=True,
        runtime_reports=True,
        policy=setup.policy,
        generations=generations,
    )
    truths = job_truths(profile_dir, job_epoch_samples=setup.train_samples)
    runs = [run_arm(arm, seed, truths, thesis_setup) for seed in range(seeds)]
    summary = arm_summary(runs)
    summary["restarts"] = {
        j.name: float(statistics.fmean(r.jobs[i].restarts for r in runs))
        for i, j in enumerate(runs[0].jobs)
    }
    return summary


#: The placements the profile times: 1 and 2 replicas, one thread each as the runtime gives
#: them, at the local batches the jobs use.
PROFILE_PLACEMENTS = ["--replicas", "1", "2", "--local-bsz", "32", "64", "128", "--threads", "1"]


def profile_scaled_job(setup: RealSetup, out: Path, log: Callable[[str], None]) -> Path:
    """Measure the scaled MNIST job on this machine (``adaptsched profile``): step times and
    the gradient statistics over the first epochs of the scaled data set."""
    if (out / "profile.json").is_file():
        return out
    flags = [*PROFILE_PLACEMENTS, "--steps", "20", "--batches", "64", "128", "256", "512"]
    _profile([*flags, "--epochs", "12"], setup, out, log, "the profile of the scaled job")
    return out


def measure_step_times(
    setup: RealSetup, source: Path, out: Path, log: Callable[[str], None]
) -> Path:
    """A copy of profile ``source`` with its step times measured again now (``adaptsched
    profile --statistics-from``): the machine's speed at the time of the run."""
    flags = [*PROFILE_PLACEMENTS, "--steps", "80", "--statistics-from", str(source)]
    _profile(flags, setup, out, log, "the step times on the started cluster")
    return out


def _profile(
    flags: list[str], setup: RealSetup, out: Path, log: Callable[[str], None], what: str
) -> None:
    import subprocess

    command = [sys.executable, "-m", "adaptsched.cli.main", "profile", "--job", "mnist"]
    command += ["--out", str(out), "--train-samples", str(setup.train_samples), *flags]
    log(f"measuring {what}: " + " ".join(command[3:]))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"measuring {what} failed (exit {done.returncode}): {tail}")
    log(done.stdout.strip())  # stdout stays the caller's (the benchmark prints only its JSON)


def _step_times(profile: Path) -> dict[str, float]:
    """The profile's step times, "placement x local batch" -> seconds (for the report)."""
    import csv

    with open(profile / "placements.csv") as f:
        return {
            f"{r['placement']}x{r['local_bsz']}": round(float(r["step_time"]), 4)
            for r in csv.DictReader(f)
        }


def measured_provision_s(state_dir: Path) -> float | None:
    """Seconds from the first round that wanted a second node to that node joining, as the
    state store recorded them (None if the cluster never grew)."""
    from adaptsched.cluster.store import StateStore

    store = StateStore(state_dir / "state.db")
    try:
        asked = [r["time_s"] for r in store.rounds() if (r["desired_nodes"] or 0) >= 2]
        joined = sorted(n["joined_s"] for n in store.nodes() if n["gpus"] > 0)
    finally:
        store.close()
    if not asked or len(joined) < 2:
        return None
    later = [t for t in joined[1:] if t >= asked[0]]
    return later[0] - asked[0] if later else None


def pct_error(sim: float | None, real: float | None) -> float | None:
    """(sim - real) / real x 100."""
    if sim is None or real is None or real == 0:
        return None
    return (sim - real) / real * 100.0


def arm_report(
    arm: str,
    real: dict[str, Any],
    profile: Path,
    inputs: dict[str, float],
    setup: RealSetup,
    seeds: int = 3,
) -> dict[str, Any]:
    """One arm's entry in the report: the real run, the simulator's prediction from
    ``profile`` with the delays the run measured (``inputs``), the errors, and the replay
    (``replay_profile``) beside them."""
    restart_s, provision_s = inputs["restart_s"], inputs["provision_delay_s"]
    sim = predict_arm(arm, profile, setup, restart_s, provision_s, seeds)
    body: dict[str, Any] = {
        "real": real,
        "sim": sim,
        "sim_inputs": {
            "restart_s": restart_s,
            "provision_delay_s": provision_s,
            "profile": str(profile),
            "step_times": _step_times(profile),
        },
        "jct_error_pct": pct_error(sim["mean_jct_s"], real["mean_jct_s"]),
        "node_seconds_error_pct": pct_error(sim["node_seconds"], real["node_seconds"]),
    }
    if real.get("step_times"):
        with tempfile.TemporaryDirectory() as tmp:
            folder = replay_profile(
                profile, real["step_times"], Path(tmp) / "replay", real.get("sync_times")
            )
            replay = predict_arm(arm, folder, setup, restart_s, provision_s, seeds)
        body["replay"] = {
            "mean_jct_s": replay["mean_jct_s"],
            "node_seconds": replay["node_seconds"],
            "restarts_per_job": replay["restarts_per_job"],
            "jct_error_pct": pct_error(replay["mean_jct_s"], real["mean_jct_s"]),
            "node_seconds_error_pct": pct_error(replay["node_seconds"], real["node_seconds"]),
        }
    return body


def replay_profile(
    profile: Path,
    real_steps: dict[str, float],
    out: Path,
    real_syncs: dict[str, float] | None = None,
) -> Path:
    """A copy of ``profile`` with the step times the real jobs measured during the run
    (``run_step_times``) in place of the profile's for the placements they ran; a one-replica
    row also stands for the side-by-side row (``host.csv``), since the jobs' records do not
    tell a job alone from one sharing the cores. A diagnostic, not a prediction: simulated
    with the machine's speed as the run found it, what error is left is the simulator's
    model of everything else (docs/fidelity.md)."""
    import csv
    import shutil

    import numpy as np

    from adaptsched.sim.profile import write_placements

    real_syncs = real_syncs or {}
    shutil.copytree(profile, out)
    header = ["placement", "local_bsz", "step_time", "sync_time"]
    measured: dict[str, dict[int, float]] = {}
    for key, seconds in real_steps.items():
        placement, local = key.split("x")
        measured.setdefault(placement, {})[int(local)] = seconds
    with open(profile / "placements.csv") as f:
        table = list(csv.DictReader(f))
    rows = [[r[k] for k in header] for r in table if r["placement"] not in measured]
    two = sorted(
        (int(r["local_bsz"]), float(r["sync_time"])) for r in table if r["placement"] == "2"
    )

    def two_sync(local: int) -> float:  # records without sync times: the profile's two replicas
        return float(np.interp(local, [m for m, _ in two], [t for _, t in two])) if two else 0.0

    for placement, by_local in measured.items():
        for local, seconds in sorted(by_local.items()):
            key = f"{placement}x{local}"
            sync = real_syncs.get(key, 0.0 if placement == "1" else two_sync(local))
            rows.append([placement, local, seconds, sync])
    write_placements(out / "placements.csv", rows)
    ones = measured.get("1", {})
    if ones:
        with open(out / "host.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["replicas", "local_bsz", "step_time"])
            writer.writerows([2, local, seconds] for local, seconds in sorted(ones.items()))
    return out


def setup_of(report: dict[str, Any]) -> RealSetup:
    """The setup an experiment's report was run with (its ``setup`` block also carries
    derived figures, such as ``train_samples``, which are left out)."""
    fields = {f.name for f in dataclasses.fields(RealSetup)}
    return RealSetup(**{k: v for k, v in report["setup"].items() if k in fields})


def rescore_experiment(report: dict[str, Any], seeds: int = 3) -> dict[str, Any]:
    """The report of runs made before, predicted again with today's simulator (same profiles,
    same measured delays, the real side untouched): no job runs."""
    setup = setup_of(report)
    arms = {}
    for arm, body in report["arms"].items():
        inputs = body["sim_inputs"]
        profile = Path(inputs.get("profile", report["profile"]))
        arms[arm] = arm_report(arm, body["real"], profile, inputs, setup, seeds)
    return {**report, "arms": arms}


def run_real_experiment(
    arms: Sequence[str],
    setup: RealSetup,
    out: Path,
    profile_dir: Path | None = None,
    seeds: int = 3,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Every arm for real, then its simulated prediction; the report's data."""
    profile_dir = profile_scaled_job(setup, profile_dir or out / "profile", log)
    report: dict[str, Any] = {
        "setup": dataclasses.asdict(setup) | {"train_samples": setup.train_samples},
        "profile": str(profile_dir),
        "arms": {},
    }
    for arm in arms:
        state_dir = Path(tempfile.mkdtemp(prefix=f"adaptsched-{arm}-", dir=out))
        arm_profile, before_jobs = profile_dir, None
        if setup.step_times_per_arm:
            arm_profile = state_dir / "profile"
            before_jobs = functools.partial(
                measure_step_times, setup, profile_dir, arm_profile, log
            )
        real = run_real_arm(arm, setup, state_dir, log, before_jobs)
        restart_s = real["restart_delay_s"] or setup.restart_cost_s
        provision_s = measured_provision_s(state_dir) or 0.0
        inputs = {"restart_s": restart_s, "provision_delay_s": provision_s}
        report["arms"][arm] = arm_report(arm, real, arm_profile, inputs, setup, seeds)
        sim = report["arms"][arm]["sim"]
        log(
            f"{arm}: real mean JCT {real['mean_jct_s']:.0f} s, simulated "
            f"{sim['mean_jct_s']:.0f} s; node-seconds {real['node_seconds']:.0f} real, "
            f"{sim['node_seconds']:.0f} simulated"
        )
    return report
