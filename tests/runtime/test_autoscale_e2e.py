"""Autoscaling through Ray's own autoscaler, end to end: an emulated autoscaling cluster (Ray's
fake multi-node provider, 1 to 3 one-GPU nodes, starting at 1) grows for a job that scales,
loses a node under it (the job restarts on the others, it does not fail), shrinks back to its
minimum when the job ends; node lifetimes agree with Ray's node table and no replica was ever
started on a node that was not up."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from runtime_helpers import Runtime

pytestmark = pytest.mark.slow

#: Seconds our lifetimes may differ from Ray's (we poll Ray's node table every second; Ray
#: declares a killed node dead after its health checks, ~1.5 s).
LIFETIME_SLACK_S = 4.0


@pytest.fixture(scope="module")
def autoscaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime(tmp_path_factory.mktemp("autoscaled"))
    rt.cli(
        "up", "--autoscale", "--min-nodes", "1", "--max-nodes", "3", "--idle-timeout", "5",
        "--interval", "3", "--restart-cost", "3", "--stop-timeout", "15",
        "--ready-timeout", "30", "--wait", "240",
        timeout=300,
    )  # fmt: skip
    try:
        yield rt
    finally:
        rt.down()


def alive(rt: Runtime) -> list[dict]:
    return [n for n in json.loads(rt.cli("nodes", "--json").stdout) if n["alive"]]


def test_grows_survives_a_lost_node_and_shrinks_back(autoscaled: Runtime) -> None:
    rt = autoscaled
    rt.wait("the minimum node", lambda: len(alive(rt)) == 1, 60)
    job = rt.submit("--name", "scaler", job_args=("--epochs", "40", "--step-sleep", "0.05"))
    rt.wait("the cluster to grow", lambda: len(alive(rt)) >= 2 and rt.job(job)["replicas"] >= 2)
    victim = next(n for n in rt.job(job)["nodes"] if n != alive(rt)[0]["id"])
    rt.cli("nodes", "--remove", victim)
    done = rt.wait_state(job, "succeeded", "failed", "cancelled", timeout_s=240)
    assert done["state"] == "succeeded", done
    assert done["failures"] == 0 and done["interruptions"] >= 1
    assert any(
        "interrupted" in (e["detail"] or "") for e in done["events"] if e["new"] == "pending"
    )
    rt.wait("the cluster back at its minimum", lambda: len(alive(rt)) == 1, 90)
    nodes = json.loads(rt.cli("nodes", "--json").stdout)
    assert len(nodes) >= 3  # the first, at least one added, and the one we removed
    for node in nodes:
        assert node["ray_start_s"] is not None, node
        assert abs(node["joined_s"] - node["ray_start_s"]) < LIFETIME_SLACK_S, node
        if node["left_s"] is not None:
            assert abs(node["left_s"] - node["ray_end_s"]) < LIFETIME_SLACK_S, node
    with rt.db() as db:
        launches = db.execute("SELECT placement, launched_s FROM generations").fetchall()
    life = {n["id"]: (n["joined_s"], n["left_s"]) for n in nodes}
    for placement, launched_s in launches:
        for node in json.loads(placement):
            joined, left = life[node]
            assert joined <= launched_s and (left is None or launched_s <= left), node


def test_the_experiment_reads_its_figures_from_the_runtimes_records(autoscaled: Runtime) -> None:
    """What the real thesis experiment reports comes from the runtime's own records: JCT
    from the job, node-seconds from the recorded lifetimes (clipped to the run), restart
    delays from launch to first report, the provisioning delay from the first round that
    wanted a second node to its joining."""
    from adaptsched.experiments.thesis_real import collect_real, measured_provision_s

    rt = autoscaled
    jobs = rt.jobs()
    assert jobs, "runs after test_grows_survives_a_lost_node_and_shrinks_back"
    figures = collect_real(rt.state_dir, jobs)
    job = jobs[0]
    assert figures["jobs"][job["name"]] == pytest.approx(job["finished_s"] - job["submitted_s"])
    assert figures["restarts"][job["name"]] == job["restarts"]
    span = job["finished_s"] - job["submitted_s"]
    assert len(figures["node_lifetimes_s"]) >= 2 and span < figures["node_seconds"] <= 3 * span
    delays = figures["restart_delays_s"]
    assert 1 <= len(delays) <= job["generation"] and all(0 < d < 60 for d in delays), delays
    steps = figures["step_times"]  # what the jobs' trainers measured, keyed like a profile's
    assert steps and all(re.fullmatch(r"[1-9]+x\d+", k) and 0 < v < 10 for k, v in steps.items())
    provision = measured_provision_s(rt.state_dir)
    assert provision is not None and 0 < provision < 60, provision
